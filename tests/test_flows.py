"""End to end: the Prefect flow (under prefect_test_harness) crawls the sample sites served on 127.0.0.1,
archives, analyses, stores and reports. Checks what landed in DuckDB, in the WARC files and in the report."""

import hashlib

import pytest

from pipeline import archive, sites, store
from tests.conftest import SITES

pytestmark = pytest.mark.slow

# Unique strings on pages that robots.txt disallows (see corpus/sites/README.md).
PRIVATE_MARKERS = [b"PORTAL-PRIVATE-7731", b"MEMBERS-PRIVATE-2290", b"ACCOUNT-PRIVATE-5518", b"INTRANET-PRIVATE-0419"]


@pytest.fixture(scope="module")
def harness():
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=90), temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        yield


@pytest.fixture(scope="module")
def two_runs(harness, tmp_path_factory):
    import flows

    tmp = tmp_path_factory.mktemp("e2e")
    summaries = []
    with sites.serve_sites(SITES) as origins:
        src = sites.write_sources(origins, tmp / "sources.yaml")
        for i in range(2):
            req = flows.AuditRequest(sources_file=str(src), db=str(tmp / "db.duckdb"), archive=str(tmp / "archive"),
                                     out=str(tmp / f"report{i}"), delay_seconds=0.05)
            summaries.append(flows.audit_flow(req))
    return tmp, summaries, origins


def test_run_summary(two_runs):
    _, (first, second), _ = two_runs
    assert first["n_failed"] == 0, first["failures"]
    assert first["n_documents"] >= 30
    assert first["run_id"] < second["run_id"]


def test_duckdb_holds_runs_fetches_documents_claims_and_scores(two_runs):
    tmp, (first, second), origins = two_runs
    con = store.open_db(tmp / "db.duckdb")
    runs = con.sql("SELECT run_id, status, n_documents FROM runs ORDER BY run_id").fetchall()
    assert [r[0] for r in runs] == [first["run_id"], second["run_id"]] and {r[1] for r in runs} == {"ok"}
    n = dict(con.sql("SELECT run_id, count(*) FROM fetches GROUP BY run_id").fetchall())
    assert n[first["run_id"]] == n[second["run_id"]], "a second crawl adds a new snapshot of every page"
    statuses = {r[0] for r in con.sql("SELECT status FROM fetches").fetchall()}
    assert {200, 404} <= statuses
    skipped = con.sql("SELECT url, reason FROM skipped WHERE run_id = $1", params=[first["run_id"]]).fetchall()
    assert any("robots" in reason and "patient-portal" in url for url, reason in skipped)
    assert any("not HTML" in reason and url.endswith(".pdf") for url, reason in skipped)
    summit = origins["summit-ketamine"]
    verdicts = con.sql(
        "SELECT c.text, v.label, v.finding, v.citation FROM claims c JOIN verdicts v USING (run_id, url, sha256, claim_no) "
        "WHERE c.run_id = $1 AND c.url LIKE $2", params=[first["run_id"], summit + "%"]).fetchall()
    assert any(label == "contradicted" and finding and citation for _, label, finding, citation in verdicts)
    scores = dict(con.sql("SELECT site, avg(credibility) FROM documents WHERE run_id = $1 GROUP BY site",
                          params=[first["run_id"]]).fetchall())
    uplands = origins["uplands-pain-research"].split("//")[1]
    assert scores[uplands] > scores[summit.split("//")[1]], "the evidence site scores above the aggressive clinic"
    con.close()


def test_every_fetch_traces_to_archived_bytes(two_runs):
    tmp, (first, _), _ = two_runs
    con = store.open_db(tmp / "db.duckdb")
    fetches = store.load_fetches(con, first["run_id"])
    con.close()
    assert fetches
    for f in fetches:
        url, status, _, body = archive.read_response(tmp / "archive", f.warc_file, f.warc_offset)
        assert status == f.status and hashlib.sha256(body).hexdigest() == f.sha256
    for rec in archive.iter_responses(tmp / "archive"):
        assert not any(m in rec.body for m in PRIVATE_MARKERS), f"robots-disallowed page archived: {rec.url}"


def test_report_shows_flagged_claims_with_citation_and_snapshot(two_runs):
    tmp, (first, second), _ = two_runs
    html = (tmp / "report0" / "index.html").read_text()
    assert "contradicted" in html and "Orhurhu" in html and "sha256:" in html and "<mark" in html
    assert (tmp / "report0" / "claims.csv").exists()
    again = (tmp / "report1" / "index.html").read_text()
    assert first["run_id"] in again, "the second report compares with the first run"


def test_report_names_sites_by_their_source_name(two_runs):
    tmp, _, _ = two_runs
    html = (tmp / "report0" / "index.html").read_text()
    assert "uplands-pain-research (127.0.0.1:" in html


def test_cli_rebuilds_report_and_exports_tables(two_runs, tmp_path, capsys):
    import pandas as pd
    import pyarrow.parquet as pq

    from pipeline.cli import main

    tmp, (first, _), _ = two_runs
    db = str(tmp / "db.duckdb")
    assert main(["report", "--db", db, "--run", first["run_id"], "--out", str(tmp_path / "rebuilt")]) == 0
    assert "Orhurhu" in (tmp_path / "rebuilt" / "index.html").read_text()
    assert main(["export", "--db", db, "--format", "parquet", "--out", str(tmp_path / "pq"), "--run", first["run_id"]]) == 0
    assert pq.read_table(tmp_path / "pq" / "documents.parquet").num_rows == first["n_documents"]
    assert main(["export", "--db", db, "--format", "csv", "--out", str(tmp_path / "csv")]) == 0
    claims = pd.read_csv(tmp_path / "csv" / "claims.csv")
    assert set(claims["run_id"]) == {r for r in claims["run_id"]} and len(set(claims["run_id"])) == 2
    capsys.readouterr()


def test_cli_crawl_archives_without_analysis(harness, tmp_path, capsys):
    from pipeline.cli import main

    with sites.serve_sites(SITES) as origins:
        src = sites.write_sources({"harbor-anesthesia": origins["harbor-anesthesia"]}, tmp_path / "s.yaml")
        code = main(["crawl", "--sources", str(src), "--db", str(tmp_path / "c.duckdb"), "--archive",
                     str(tmp_path / "arch"), "--delay", "0.05"])
    out = capsys.readouterr().out
    assert code == 0 and "0 documents" in out and "0 failed" in out
    con = store.open_db(tmp_path / "c.duckdb")
    assert con.sql("SELECT count(*) FROM fetches").fetchall()[0][0] >= 3
    assert con.sql("SELECT count(*) FROM documents").fetchall()[0][0] == 0
    con.close()
    assert list((tmp_path / "arch").glob("*.warc.gz"))


def test_cli_run_with_a_bad_sources_file_fails_before_prefect(tmp_path, capsys):
    from pipeline.cli import main

    bad = tmp_path / "sources.yaml"
    bad.write_text("sources:\n  - name: X\n    url: ftp://nope\n")
    assert main(["run", "--sources", str(bad), "--db", str(tmp_path / "db.duckdb")]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and err.count("\n") == 1
    assert not (tmp_path / "db.duckdb").exists(), "nothing is created for a bad sources file"


def test_a_run_that_stopped_is_resumed_without_recrawling(harness, tmp_path, capsys):
    import flows
    from pipeline import audit
    from pipeline.settings import load_settings
    from pipeline.sources import load_sources

    settings = load_settings(db=tmp_path / "r.duckdb", archive=tmp_path / "arch", delay_seconds=0.05)
    with sites.serve_sites(SITES) as origins:
        src = sites.write_sources({k: origins[k] for k in ("harbor-anesthesia", "uplands-pain-research")},
                                  tmp_path / "s.yaml")
        srcs = load_sources(src, settings)
        # a run that crawled its first source and then died
        run_id, done = audit.begin_run(settings.db, str(src), srcs, settings)
        assert done == set()
        audit.save_crawl(settings.db, run_id, audit.crawl_source(srcs[0], settings, run_id))
        warcs_before = sorted(p.name for p in (tmp_path / "arch").glob("*.warc.gz"))
        req = flows.AuditRequest(sources_file=str(src), db=str(settings.db), archive=str(settings.archive),
                                 out=str(tmp_path / "rep"), delay_seconds=0.05, resume="latest")
        summary = flows.audit_flow(req)
    assert summary["run_id"] == run_id and summary["n_failed"] == 0
    warcs_after = sorted(p.name for p in (tmp_path / "arch").glob("*.warc.gz"))
    new = [w for w in warcs_after if w not in warcs_before]
    assert len(new) == 1 and "uplands" in new[0], "only the source not yet crawled is crawled again"
    con = store.open_db(settings.db)
    assert store.get_run(con, run_id)["status"] == "ok"
    assert store.crawled_sources(con, run_id) == {"harbor-anesthesia", "uplands-pain-research"}
    assert {d.site for d in store.load_documents(con, run_id)} == {origins["harbor-anesthesia"][7:],
                                                                   origins["uplands-pain-research"][7:]}
    con.close()
    # a finished run cannot be resumed
    from pipeline.cli import main

    capsys.readouterr()
    assert main(["run", "--sources", str(src), "--db", str(settings.db), "--resume", run_id]) == 2
    err = capsys.readouterr().err
    assert "already finished" in err and err.count("\n") == 1 and "Traceback" not in err


def test_readme_sql_examples_run_on_a_real_database(two_runs):
    import re

    from tests.conftest import ROOT

    tmp, _, _ = two_runs
    blocks = re.findall(r"```sql\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    assert len(blocks) >= 3
    con = store.open_db(tmp / "db.duckdb")
    for sql in blocks:
        assert con.sql(sql).fetchall(), sql
    con.close()
