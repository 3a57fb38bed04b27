"""HTML/CSV report: quotes traceable to archived bytes, problem claims first, everything escaped."""

from __future__ import annotations

import csv
import re
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import pytest

from pipeline import report
from pipeline.records import Claim, Verdict
from tests.test_store import CLINIC, OTHER, ORHURHU, SKIPPED, clinic_document, fetches_for, other_document

RUN = {
    "run_id": "20261121T100000.000000Z-3fa2c1", "started_at": "2026-11-21T10:00:00.000000Z",
    "finished_at": "2026-11-21T10:04:12.000000Z", "status": "ok", "claimaudit_version": "0.1.0",
    "model": "sentence-clf:3f9a2c", "findings_version": "ketamine:8d41e0", "sources_file": "sources.yaml",
}
PREVIOUS_RUN = {"run_id": "20261114T100000.000000Z-77aa01", "started_at": "2026-11-14T10:00:00.000000Z"}


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> tuple[Path, str]:
    docs = [clinic_document(34.0, body=b"<html>clinic v2</html>"), other_document()]
    previous = [clinic_document(50.0, contradicted=False), replace(other_document(), url=OTHER + "-old")]
    out = tmp_path_factory.mktemp("report")
    index = report.write_report(out, RUN, docs, fetches_for(docs), SKIPPED, previous, previous_run=PREVIOUS_RUN)
    return out, index.read_text(encoding="utf-8")


def _section(html: str, start_marker: str, end_marker: str) -> str:
    start = html.index(start_marker)
    return html[start:html.index(end_marker, start)]


def test_writes_the_three_files(written):
    out, html = written
    assert sorted(p.name for p in out.iterdir()) == ["claims.csv", "index.html", "pages.csv"]
    assert html.startswith("<!doctype html>")
    assert "<script" not in html.lower().replace("&lt;script", "")  # self-contained, no JavaScript


def test_a_flagged_claim_shows_quote_highlight_verdict_citation_and_snapshot(written):
    _, html = written
    doc = clinic_document(34.0, body=b"<html>clinic v2</html>")
    card = _section(html, 'id="page-0-claim-0"', "</dl>")
    assert "Our ketamine infusion therapy offers <mark>relief that lasts for months</mark> for patients with CRPS." in card
    assert "contradicted" in card and "orhurhu2019-meta-duration" in card and ORHURHU in card
    assert "not months" in card  # the why sentence
    assert f"sha256:{doc.sha256}" in card
    assert "2026-11-21T10:00:00Z" in card and "claimaudit-20261121-00001.warc.gz" in card and "@ offset 1834" in card
    assert "hedged: no" in card and "negated: no" in card


def test_problem_claims_come_before_consistent_ones_which_are_collapsed(written):
    _, html = written
    page = _section(html, 'id="page-0"', "</article>")
    contradicted = page.index("<mark>relief that lasts for months</mark>")
    details = page.index('<details class="consistent">')
    consistent = page.index("<mark>a small analgesic effect lasting up to two weeks</mark>")
    assert contradicted < details < consistent
    assert page.index("<mark>completely non-addictive</mark>") < details


def test_page_text_is_escaped(written):
    _, html = written
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    assert "Best clinic ever &amp; the staff &lt;3 you." in html


def test_reviews_are_kept_apart_with_their_claims(written):
    _, html = written
    reviews = _section(html, 'class="reviews"', "</section>")
    assert "Jane D." in reviews and "<mark>gone for good</mark>" in reviews and "unsupported" in reviews
    problems = _section(html, "Problem claims (", "</details>")
    assert "gone for good" not in problems


def test_score_components_and_omissions(written):
    _, html = written
    page = _section(html, 'id="page-0"', "</article>")
    assert "Credibility <span class=\"big\">34</span>/100" in page
    assert "contradicted claims" in page and "-24" in page and "#1, #3" in page
    assert "Promotional share: <strong>60%</strong>" in page
    assert "abuse risk disclosure" in page and "ae-abuse-dependence-cognition" in page


def test_provenance_and_analyst_sections(written):
    _, html = written
    header = _section(html, "<header", "</header>")
    for value in RUN["run_id"], "0.1.0", "sentence-clf:3f9a2c", "ketamine:8d41e0", RUN["started_at"]:
        assert value in header
    analysts = html[html.index('id="analysts"'):]
    assert "https://clinic.example/book-now" in analysts and "disallowed by robots.txt" in analysts
    assert "<svg" in analysts and "<!-- chart: " in analysts
    by_type = _section(analysts, 'class="by-type"', "</table>")
    duration = re.search(r"<tr><td>duration</td>(.*?)</tr>", by_type).group(1)
    assert re.findall(r">(\d+)<", duration) == ["1", "0", "1", "0", "0", "2", "0"]


def test_changes_since_the_last_run(written):
    _, html = written
    changes = _section(html, 'id="changes"', "</section>")
    assert PREVIOUS_RUN["run_id"] in changes
    scores = _section(changes, 'class="score-changes"', "</table>")
    assert "Ketamine for Chronic Pain | Example Clinic" in scores and ">50<" in scores and ">34<" in scores
    assert ">-16<" in scores
    assert "Pages whose content changed (1)" in changes
    assert "New pages (1)" in changes and "Pages no longer found (1)" in changes
    new = _section(changes, "New problem claims", "</ul>")
    assert "relief that lasts for months" in new and "was consistent" in new
    assert "Resolved problem claims" not in changes


def test_html_is_well_formed_enough(written):
    _, html = written

    class Checker(HTMLParser):
        VOID = {"meta", "br", "hr", "img", "link", "input", "rect", "line", "path"}

        def __init__(self):
            super().__init__()
            self.stack: list[str] = []

        def handle_starttag(self, tag, attrs):
            if tag not in self.VOID:
                self.stack.append(tag)

        def handle_startendtag(self, tag, attrs):
            pass

        def handle_endtag(self, tag):
            assert self.stack and self.stack[-1] == tag, (tag, self.stack[-5:])
            self.stack.pop()

    checker = Checker()
    checker.feed(html)
    assert checker.stack == []


def test_csv_files(written):
    out, _ = written
    with (out / "claims.csv").open(encoding="utf-8", newline="") as fh:
        claims = list(csv.DictReader(fh))
    with (out / "pages.csv").open(encoding="utf-8", newline="") as fh:
        pages = list(csv.DictReader(fh))
    assert len(claims) == 4 and len(pages) == 2
    first = claims[0]
    assert (first["text"], first["verdict"], first["finding"], first["citation"]) == (
        "relief that lasts for months", "contradicted", "orhurhu2019-meta-duration", ORHURHU)
    assert first["warc_offset"] == "1834" and first["run_id"] == RUN["run_id"]
    assert [c["source"] for c in claims] == ["page", "page", "page", "review"]
    clinic = next(p for p in pages if p["url"] == CLINIC)
    assert (clinic["credibility"], clinic["n_problem_claims"], clinic["n_contradicted"]) == ("34.0", "3", "2")
    assert clinic["omissions"] == "abuse-risk"


def test_quote_falls_back_when_offsets_do_not_match():
    doc = clinic_document()
    claim = doc.claims[0]
    moved = replace(claim, start=claim.start + 3, end=claim.end + 3)
    quote, ok = report._quote(moved, doc.text, doc.sentences[1])
    assert not ok and "<mark>relief that lasts for months</mark>" in quote
    lost = Claim("duration", "<b>nowhere</b>", 0, 3, 0, {}, verdict=Verdict("unsupported"))
    quote, ok = report._quote(lost, doc.text, doc.sentences[0])
    assert not ok and str(quote) == "<mark>&lt;b&gt;nowhere&lt;/b&gt;</mark>"


def test_long_context_is_cut_around_the_claim():
    text = "word " * 200 + "CLAIM" + " word" * 200
    quote = report.highlight(text, 1000, 1005)
    assert "<mark>CLAIM</mark>" in quote and quote.startswith("… ") and quote.endswith(" …")
    assert len(quote) < 2 * report.CONTEXT_CHARS + 60


def test_hand_built_chart_when_vl_convert_fails(monkeypatch):
    import vl_convert

    def broken(*args, **kwargs):
        raise RuntimeError("offline")

    monkeypatch.setattr(vl_convert, "vegalite_to_svg", broken)
    doc = replace(other_document(), site="<b>evil</b>.example")
    html = report.render_html(RUN, [doc], [], [])
    assert "hand-built SVG bar chart" in html
    assert "&lt;b&gt;evil&lt;/b&gt;.example</text>" in html and "<b>evil" not in html


def test_a_bare_document_and_an_empty_run_render(tmp_path):
    bare = replace(other_document(), score=None, sentences=(), claims=(
        Claim("price", "$400", 0, 4, 7, {"low": 400, "high": 400, "currency": "USD"}),))
    bare = replace(bare, text="$400 per infusion.")
    index = report.write_report(tmp_path, {}, [bare], [], [])
    html = index.read_text(encoding="utf-8")
    assert "Not scored." in html and "WARC record not found" in html and "<mark>$400</mark> per infusion." in html
    assert "1 claim not assessed" in html and 'id="changes"' not in html
    assert report.write_report(tmp_path / "empty", {"run_id": "r1"}, [], [], []).exists()
