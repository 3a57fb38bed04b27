"""Run glue: one bad page never stops the others, and skips are classified for the exit code."""

from pathlib import Path

import pytest

from pipeline import archive
from pipeline.audit import analyze_fetches, is_failure
from pipeline.records import Document, Fetch, Skipped
from tests.conftest import SITES


@pytest.fixture
def archived(settings):
    """One real page archived in a WARC file, and its Fetch."""
    body = (SITES / "harbor-anesthesia" / "ketamine-infusions.html").read_bytes()
    with archive.WarcArchive(settings.archive, "unit") as warc:
        name, offset, digest = warc.write("http://harbor.test/ketamine-infusions.html", 200, "OK",
                                          [("Content-Type", "text/html; charset=utf-8")], body,
                                          "2026-11-21T10:00:00Z", [("User-Agent", "claimaudit")])
    return Fetch(url="http://harbor.test/ketamine-infusions.html", final_url="http://harbor.test/ketamine-infusions.html",
                 status=200, fetched_at="2026-11-21T10:00:00Z", content_type="text/html; charset=utf-8", sha256=digest,
                 length=len(body), warc_file=name, warc_offset=offset, source="harbor", kind="clinic")


def test_a_page_that_cannot_be_read_back_is_skipped_and_the_rest_analysed(settings, resources, archived):
    broken = Fetch(**{**archived.to_dict(), "url": "http://harbor.test/broken", "headers": (),
                      "warc_file": "missing.warc.gz"})
    results = analyze_fetches([broken, archived], resources, settings)
    assert isinstance(results[0], Skipped) and results[0].stage == "analyze" and results[0].url.endswith("/broken")
    assert results[0].reason.startswith("error: ") and is_failure(results[0])
    assert isinstance(results[1], Document) and results[1].sha256 == archived.sha256
    assert results[1].claims, "the good page was analysed from its archived bytes"


def test_non_200_and_non_html_are_recorded_not_failed(settings, resources, archived):
    not_found = Fetch(**{**archived.to_dict(), "url": "http://harbor.test/gone", "status": 404, "headers": ()})
    pdf = Fetch(**{**archived.to_dict(), "url": "http://harbor.test/sheet.pdf", "content_type": "application/pdf",
                   "headers": ()})
    results = analyze_fetches([not_found, pdf], resources, settings)
    assert [r.reason for r in results] == ["HTTP status 404", "not HTML or text (application/pdf)"]
    assert not any(is_failure(r) for r in results)


@pytest.mark.parametrize("reason,failure", [
    ("disallowed by robots.txt", False), ("already crawled (redirect to /x)", False),
    ("out of scope (redirect to http://other)", False), ("HTTP status 404", False),
    ("HTTP status 503", True), ("connection refused", True), ("error: ValueError: bad", True),
])
def test_failure_classification(reason, failure):
    assert is_failure(Skipped("http://x", "crawl", reason)) is failure
