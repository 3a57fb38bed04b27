"""The command line: records on stdout, exit codes, one-line errors with no traceback."""

import json
import subprocess
import sys

import pytest

from pipeline.cli import build_parser, main
from tests.conftest import ROOT, SITES

PAGE = SITES / "summit-ketamine" / "treatments" / "chronic-pain.html"


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_analyze_json_record_offsets_index_text(capsys):
    code, out, err = run(capsys, "analyze", str(PAGE), "--format", "json")
    assert code == 0, err
    rec = json.loads(out)
    assert {"url", "final_url", "fetched_at", "sha256", "title", "site", "published", "author", "language", "text",
            "sentences", "claims", "reviews", "score"} <= set(rec)
    assert rec["sentences"] and rec["claims"]
    for s in rec["sentences"]:
        assert rec["text"][s["start"]:s["end"]] == s["text"]
        assert s["label"] in ("promotional", "evidential", "neutral") and 0 <= s["p_promotional"] <= 1
    for c in rec["claims"]:
        assert rec["text"][c["start"]:c["end"]] == c["text"]
        assert c["verdict"]["label"] in ("consistent", "overstated", "contradicted", "unsupported", "not_assessed")
    assert 0 <= rec["score"]["credibility"] <= 100


def test_analyze_folder_gives_one_jsonl_record_per_page(capsys):
    code, out, err = run(capsys, "analyze", str(SITES / "harbor-anesthesia"))
    records = [json.loads(line) for line in out.splitlines()]
    assert len(records) == len(list((SITES / "harbor-anesthesia").rglob("*.html")))
    # the folder's robots.txt is too short to analyse: recorded with its reason, exit code 1
    assert code == 1 and "robots.txt: skipped at extract: main text shorter than" in err


def test_analyze_text_format_shows_verdicts(capsys):
    code, out, _ = run(capsys, "analyze", str(SITES / "summit-ketamine" / "index.html"), "--format", "text")
    assert code == 0 and "credibility" in out and "sha256:" in out


@pytest.mark.parametrize("argv,needle", [
    (["analyze", "nope.html"], "nope.html: no such file"),
    (["analyze", str(SITES / "summit-ketamine" / "files" / "price-list.pdf")], "not an .html, .htm or .txt file"),
    (["analyze", str(PAGE), "--colour"], "unrecognized arguments: --colour"),
    (["findings", "--topic", "astrology"], "astrology.yaml: findings file not found"),
    (["report", "--db", "/nonexistent/x.duckdb", "--out", "/tmp/x"], "database not found"),
])
def test_bad_input_is_one_line_exit_2(capsys, argv, needle):
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert needle in err and err.count("\n") == 1 and "Traceback" not in err


def test_bad_input_in_a_subprocess_has_no_traceback():
    p = subprocess.run([sys.executable, "-m", "pipeline.cli", "analyze", "missing.html"], capture_output=True, text=True,
                       cwd=ROOT)
    assert p.returncode == 2 and "Traceback" not in p.stderr and p.stderr.strip().endswith("no such file, folder or http(s) URL")


def test_findings_lists_citations(capsys):
    code, out, _ = run(capsys, "findings")
    assert code == 0
    assert "orhurhu2019-meta-duration" in out and "10.1213/ANE.0000000000004185" in out


def test_every_command_is_documented_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    commands = build_parser()._subparsers._group_actions[0].choices  # noqa: SLF001
    for name, sub in commands.items():
        assert f"claimaudit {name}" in readme, name
        assert sub.description or sub.format_help()


def test_analyze_urls_archives_first_and_records_the_digest(capsys, tmp_path):
    import hashlib

    from pipeline import archive, sites

    with sites.serve_sites(SITES) as origins:
        base = origins["summit-ketamine"]
        code, out, err = run(capsys, "analyze", f"{base}/faq.html", f"{base}/patient-portal/",
                             "--archive", str(tmp_path / "arch"))
    records = [json.loads(line) for line in out.splitlines()]
    assert code == 1 and "patient-portal/: skipped at crawl: disallowed by robots.txt" in err
    (rec,) = records
    assert rec["url"] == f"{base}/faq.html" and rec["fetched_at"]
    archived = {r.url: r for r in archive.iter_responses(tmp_path / "arch")}
    assert hashlib.sha256(archived[rec["url"]].body).hexdigest() == rec["sha256"]
