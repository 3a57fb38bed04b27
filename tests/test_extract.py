"""Keep/drop extraction on the sample sites (trafilatura's realworld_tests idea): the page's own claims
are kept, site furniture is dropped, testimonials and reviews are kept apart."""

import pytest

from pipeline.extract import extract
from tests.conftest import SITES

PAGES = [
    # (page, must be in text, must not be in text)
    ("summit-ketamine/treatments/chronic-pain.html",
     ["Ketamine Infusion Therapy for Chronic Pain", "the nervous system itself becomes sensitized"],
     ["We use cookies", "All rights reserved", "Main menu"]),
    ("uplands-pain-research/research/ketamine-infusions-evidence.html",
     ["7 randomised controlled trials (211 patients)"], ["We use cookies"]),
    ("painvoices-reviews/clinics/summit-ketamine-wellness.html",
     ["Prices quoted by members"], ["my pain was gone for three months"]),
]


@pytest.mark.parametrize("page,keep,drop", PAGES, ids=[p[0] for p in PAGES])
def test_keep_and_drop(page, keep, drop):
    ex = extract((SITES / page).read_bytes(), f"http://site.test/{page}")
    assert ex is not None
    for s in keep:
        assert s in ex.text
    for s in drop:
        assert s not in ex.text
    assert ex.language == "en"


def test_json_ld_reviews_and_html_testimonials_are_kept_apart():
    page = "painvoices-reviews/clinics/summit-ketamine-wellness.html"
    ex = extract((SITES / page).read_bytes(), "http://site.test/")
    origins = {r.origin for r in ex.reviews}
    assert origins == {"json-ld", "html"}
    assert ex.aggregate_rating == 4.4
    first = next(r for r in ex.reviews if r.author == "FootOnFire_CRPS")
    assert first.rating == 5.0 and first.date == "2024-02-11"
    assert "pain was gone for three months" in first.text
    texts = [r.text for r in ex.reviews]
    assert len(texts) == len(set(texts)), "a review shown in HTML and JSON-LD is kept once"


def test_clinic_testimonials_with_authors_and_ratings():
    ex = extract((SITES / "summit-ketamine/testimonials.html").read_bytes(), "http://site.test/")
    assert len(ex.reviews) >= 5
    assert all(r.origin == "html" for r in ex.reviews)
    assert any(r.author and "Karen" in r.author and r.rating == 5.0 for r in ex.reviews)
    assert not any(r.text[:60] in ex.text for r in ex.reviews)


def test_metadata_is_stated_not_guessed():
    blog = extract((SITES / "summit-ketamine/blog/ketamine-resets-pain-pathways.html").read_bytes(), "http://s/")
    assert blog.published == "2024-03-12" and "Whitfield" in blog.author
    page = extract((SITES / "summit-ketamine/treatments/chronic-pain.html").read_bytes(), "http://s/")
    assert page.published is None, "a copyright year is not a publication date"


@pytest.mark.parametrize("body", [b"", b"<html><body></body></html>", b"\x00\x01\x02"])
def test_empty_or_broken_html_gives_none(body):
    assert extract(body, "http://site.test/empty") is None
