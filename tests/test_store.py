"""DuckDB store: round trips, runs side by side, idempotent saves, refusal of foreign files.

The record builders here (a clinic page with a contradicted duration claim, a consistent claim, a review
with a claim, a skipped URL) are shared by test_report.py and test_export.py.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

import duckdb
import pytest

from pipeline import store
from pipeline.errors import BadInput
from pipeline.records import (
    Claim, Document, Fetch, Omission, Review, Score, ScoreComponent, Sentence, Skipped, Source, Verdict,
)
from pipeline.settings import load_settings

CLINIC = "https://clinic.example/ketamine-for-pain"
OTHER = "https://painrelief.example/about"
ORHURHU = "Orhurhu V et al. Anesth Analg 2019;129(1):241-254"
ABUSE_CITATION = "Morgan CJA, Curran HV. Addiction 2012;107(1):27-38"

CLINIC_SENTENCES = (
    "Ketamine Infusions for Chronic Pain & Depression.",
    "Our ketamine infusion therapy offers relief that lasts for months for patients with CRPS.",
    "A 2019 meta-analysis found a small analgesic effect lasting up to two weeks after infusion.",
    "Ketamine is completely non-addictive <script>alert('x')</script> when given by our team.",
    "Book your free consultation today!",
)


def _sentences(parts: tuple[str, ...], labels: tuple[str, ...]) -> tuple[str, tuple[Sentence, ...]]:
    text, out = "", []
    for i, (part, label) in enumerate(zip(parts, labels)):
        if text:
            text += " "
        out.append(Sentence(i, len(text), len(text) + len(part), part, label, 0.9 if label == "promotional" else 0.1))
        text += part
    return text, tuple(out)


def _claim(text: str, sentences: tuple[Sentence, ...], i: int, span: str, **kw) -> Claim:
    start = text.index(span, sentences[i].start)
    return Claim(text=span, start=start, end=start + len(span), sentence=i, **kw)


def clinic_document(credibility: float = 34.0, body: bytes = b"<html>clinic v1</html>",
                    contradicted: bool = True) -> Document:
    text, sents = _sentences(CLINIC_SENTENCES, ("neutral", "promotional", "evidential", "promotional", "promotional"))
    months = _claim(
        text, sents, 1, "relief that lasts for months", type="duration",
        value={"min_days": 60, "max_days": 365, "aspect": "relief"}, context=("crps",),
        verdict=Verdict(
            "contradicted" if contradicted else "consistent", "orhurhu2019-meta-duration", ORHURHU,
            "The 2019 meta-analysis found relief lasting up to 2 weeks after infusion, not months.",
        ),
    )
    weeks = _claim(
        text, sents, 2, "a small analgesic effect lasting up to two weeks", type="duration",
        value={"min_days": 14, "max_days": 14, "aspect": "relief"}, hedged=True, cited=True,
        verdict=Verdict("consistent", "orhurhu2019-meta-duration", ORHURHU,
                        "Matches the meta-analysis: a small effect for up to 2 weeks."),
    )
    addictive = _claim(
        text, sents, 3, "completely non-addictive", type="safety", value={"assertion": "non_addictive"},
        verdict=Verdict("contradicted", "ae-abuse-dependence-cognition", ABUSE_CITATION,
                        "Ketamine is a Schedule III drug with documented misuse and dependence."),
    )
    review_text = "After six infusions my CRPS pain was gone for good! Best clinic ever & the staff <3 you."
    review_claim = Claim(
        type="efficacy", text="gone for good", start=review_text.index("gone for good"),
        end=review_text.index("gone for good") + len("gone for good"), sentence=0,
        value={"strength": "permanent"}, source="review",
        verdict=Verdict("unsupported", "crps-trials-and-reviews", "Zhao J et al. Pain Physician 2018",
                        "No trial shows permanent relief of CRPS pain after ketamine."),
    )
    return Document(
        url=CLINIC, final_url=CLINIC, fetched_at="2026-11-21T10:00:00Z",
        sha256=hashlib.sha256(body).hexdigest(), title="Ketamine for Chronic Pain | Example Clinic",
        site="clinic.example", published="2024-05-01", author=None, language="en", text=text,
        sentences=sents, claims=(months, weeks, addictive),
        reviews=(Review("Jane D.", 5.0, "2025-03-01", review_text, "json-ld", (review_claim,)),),
        omissions=(Omission("abuse-risk", "abuse_risk_disclosure", "ae-abuse-dependence-cognition", ABUSE_CITATION,
                            "The page never mentions the risk of misuse or dependence."),),
        score=Score(credibility, 0.6, "promotional", (
            ScoreComponent("contradicted_claims", -24.0, "Two claims contradict cited findings.", (1, 3)),
            ScoreComponent("promotional_language", -12.0, "3 of 5 sentences are promotional.", (1, 3, 4)),
            ScoreComponent("cites_evidence", 6.0, "One sentence cites a study.", (2,)),
        )),
        model="sentence-clf:3f9a2c", findings_version="ketamine:8d41e0",
    )


def other_document(credibility: float = 81.5) -> Document:
    text, sents = _sentences(("We offer ketamine infusions under anaesthetist supervision.",
                              "Ketamine is used off-label for pain; side effects include nausea."),
                             ("neutral", "evidential"))
    return Document(
        url=OTHER, final_url=OTHER, fetched_at="2026-11-21T10:01:00Z",
        sha256=hashlib.sha256(b"other").hexdigest(), title="About us", site="painrelief.example",
        published=None, author=None, language="en", text=text, sentences=sents,
        score=Score(credibility, 0.0, "neutral", (ScoreComponent("base", 81.5, "No problem claims.", ()),)),
        model="sentence-clf:3f9a2c", findings_version="ketamine:8d41e0",
    )


def fetches_for(docs: list[Document]) -> list[Fetch]:
    return [
        Fetch(url=d.url, final_url=d.final_url, status=200, fetched_at=d.fetched_at or "", sha256=d.sha256,
              content_type="text/html; charset=utf-8", length=2048 + n, warc_file="claimaudit-20261121-00001.warc.gz",
              warc_offset=1834 * (n + 1), headers=(("Content-Type", "text/html"), ("Set-Cookie", "a=1"),
                                                  ("Set-Cookie", "b=2")),
              source="Example Ketamine Clinic", kind="clinic")
        for n, d in enumerate(docs)
    ]


SKIPPED = [Skipped("https://clinic.example/book-now", "crawl", "disallowed by robots.txt")]
SOURCES = [Source("Example Ketamine Clinic", "https://clinic.example/"),
           Source("Pain Relief", "https://painrelief.example/", "clinic", 5, "prefix")]


def save_run(con: duckdb.DuckDBPyConnection, docs: list[Document], status: str = "ok") -> str:
    run_id = store.start_run(con, "sources.yaml", SOURCES, load_settings())
    store.save_fetches(con, run_id, fetches_for(docs))
    store.save_documents(con, run_id, docs)
    store.save_skipped(con, run_id, SKIPPED)
    store.finish_run(con, run_id, status)
    return run_id


def counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    return {t: con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in store.TABLES}


@pytest.fixture
def con(tmp_path: Path):
    con = store.open_db(tmp_path / "data" / "claimaudit.duckdb")
    yield con
    con.close()


def test_document_round_trips_through_the_database(con):
    docs = [clinic_document(), other_document()]
    run_id = save_run(con, docs)
    assert store.load_documents(con, run_id) == docs
    assert store.load_fetches(con, run_id) == fetches_for(docs)
    assert store.load_skipped(con, run_id) == SKIPPED


def test_rows_land_in_the_typed_tables(con):
    run_id = save_run(con, [clinic_document(), other_document()])
    assert counts(con) == {"runs": 1, "sources": 2, "fetches": 2, "documents": 2, "sentences": 7, "claims": 4,
                           "verdicts": 4, "scores": 4, "omissions": 1, "skipped": 1}
    row = con.execute("SELECT n_claims, n_problem_claims, credibility, page_label FROM documents "
                      "WHERE url = ?", [CLINIC]).fetchall()[0]
    assert row == (4, 3, 34.0, "promotional")
    claims = con.execute(
        "SELECT c.claim_no, c.source, c.review_no, d.text[c.start + 1:c.\"end\"] = c.text, c.value->>'aspect' "
        "FROM claims c JOIN documents d USING (run_id, url) ORDER BY claim_no"
    ).fetchall()
    assert claims == [(0, "page", None, True, "relief"), (1, "page", None, True, "relief"),
                      (2, "page", None, True, None), (3, "review", 0, False, None)]
    assert con.execute("SELECT finding, citation FROM verdicts WHERE claim_no = 0").fetchall()[0] == (
        "orhurhu2019-meta-duration", ORHURHU)
    assert con.execute("SELECT sentences FROM scores WHERE component = 'contradicted_claims'").fetchall()[0] == ([1, 3],)
    assert con.execute("SELECT headers->>'$[1][1]' FROM fetches WHERE url = ?", [CLINIC]).fetchall()[0] == ("a=1",)
    run = store.get_run(con, run_id)
    assert (run["status"], run["n_fetched"], run["n_documents"], run["n_skipped"]) == ("ok", 2, 2, 1)
    assert (run["model"], run["findings_version"]) == ("sentence-clf:3f9a2c", "ketamine:8d41e0")
    assert run["claimaudit_version"] and run["finished_at"] >= run["started_at"]


def test_two_runs_keep_both(con):
    first = save_run(con, [clinic_document(50.0)])
    second = save_run(con, [clinic_document(34.0, body=b"<html>clinic v2</html>")])
    assert first < second
    assert [r["run_id"] for r in store.list_runs(con)] == [second, first]
    assert store.latest_run(con) == second
    assert store.latest_run(con, before=second) == first
    assert store.latest_run(con, before=first) is None
    assert store.load_documents(con, first)[0].score.credibility == 50.0
    assert store.load_documents(con, second)[0].score.credibility == 34.0
    assert counts(con)["documents"] == 2 and counts(con)["claims"] == 8


def test_unfinished_or_failed_runs_are_not_latest(con):
    done = save_run(con, [other_document()])
    store.start_run(con, "sources.yaml", SOURCES, load_settings())  # still running
    save_run(con, [], status="failed")
    assert store.latest_run(con) == done


def test_saving_the_same_run_twice_does_not_duplicate(con):
    docs = [clinic_document(), other_document()]
    run_id = save_run(con, docs)
    before = counts(con)
    store.save_fetches(con, run_id, fetches_for(docs))
    store.save_documents(con, run_id, docs)
    store.save_skipped(con, run_id, SKIPPED)
    assert counts(con) == before
    # a re-save of one page replaces that page only
    store.save_documents(con, run_id, [clinic_document(12.0)])
    assert counts(con) == before
    assert [d.score.credibility for d in store.load_documents(con, run_id)] == [12.0, 81.5]


def test_reopening_keeps_data_and_schema(tmp_path):
    path = tmp_path / "claimaudit.duckdb"
    con = store.open_db(path)
    run_id = save_run(con, [other_document()])
    con.close()
    con = store.open_db(path)
    assert store.load_documents(con, run_id) == [other_document()]
    con.close()


def test_a_file_that_is_not_a_duckdb_database_is_refused_and_left_alone(tmp_path):
    path = tmp_path / "claimaudit.duckdb"
    junk = b"SQLite format 3\x00" + bytes(range(256)) * 20
    path.write_bytes(junk)
    with pytest.raises(BadInput, match="claimaudit.duckdb"):
        store.open_db(path)
    assert path.read_bytes() == junk
    assert sorted(p.name for p in tmp_path.iterdir()) == ["claimaudit.duckdb"]


def test_a_foreign_duckdb_database_is_refused(tmp_path):
    path = tmp_path / "other.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE documents (id INTEGER)")
    con.close()
    with pytest.raises(BadInput, match="not a claimaudit database"):
        store.open_db(path)


def test_unknown_run_and_bad_status(con):
    with pytest.raises(BadInput, match="no-such-run"):
        store.finish_run(con, "no-such-run", "ok")
    with pytest.raises(BadInput, match="no-such-run"):
        store.save_documents(con, "no-such-run", [other_document()])
    run_id = store.start_run(con, None, [], load_settings())
    with pytest.raises(ValueError, match="status"):
        store.finish_run(con, run_id, "done")


def test_run_ids_sort_by_start_time():
    from datetime import datetime, timezone

    early = store.new_run_id(datetime(2026, 11, 21, 9, 59, 59, 999999, tzinfo=timezone.utc))
    late = store.new_run_id(datetime(2026, 11, 21, 10, 0, 0, tzinfo=timezone.utc))
    assert early.startswith("20261121T095959.999999Z-") and early < late


def test_a_document_with_a_nan_is_refused_with_its_url(con):
    run_id = store.start_run(con, None, [], load_settings())
    bad = replace(other_document(), score=Score(float("nan"), 0.0))
    with pytest.raises(ValueError, match=OTHER):
        store.save_documents(con, run_id, [bad])
    assert counts(con)["documents"] == 0
