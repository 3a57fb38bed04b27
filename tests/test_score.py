"""The score is explained and monotone."""

from dataclasses import replace

from pipeline.records import Claim, Omission, Sentence, Verdict
from pipeline.score import PageFacts, score_page, score_site

SENTS = [Sentence(i, 0, 1, t, lab) for i, (t, lab) in enumerate([
    ("Ketamine gives relief for months.", "promotional"),
    ("Book your consultation today!", "promotional"),
    ("A 2019 meta-analysis (Orhurhu et al.) found benefit up to two weeks.", "evidential"),
    ("Parking is free.", "neutral"),
])]


def claim(type_, value, verdict, sentence=0, **kw):
    return Claim(type=type_, text="x", start=0, end=1, sentence=sentence, value=value,
                 verdict=Verdict(verdict, "f", "cite", "why"), **kw)


BASE_CLAIMS = [claim("duration", {"min_days": 60, "aspect": "relief"}, "contradicted"),
               claim("efficacy_rate", {"percent": 89}, "unsupported", 1)]
OMISSION = Omission("side_effects", "Side effects named", "f", "c", "missing")


def facts(claims=BASE_CLAIMS, omissions=(OMISSION,), sents=SENTS, **kw):
    return PageFacts(sentences=sents, claims=claims, omissions=omissions, n_testimonials=kw.get("n_test", 2),
                     kind="clinic", author=kw.get("author"), published=None)


def test_components_explain_the_score():
    s = score_page(facts())
    names = {c.name: c for c in s.components}
    assert {"contradicted_claims", "unsupported_claims", "unsourced_success_rates", "promotional_share",
            "testimonials", "missing_disclosures", "citations", "evidential_share"} <= set(names)
    assert names["contradicted_claims"].points == -12 and names["contradicted_claims"].sentences == (0,)
    assert s.credibility == round(max(0, min(100, 60 + sum(c.points for c in s.components))), 1)
    assert s.promotional_share == 0.5 and s.label == "promotional"
    assert all(c.why for c in s.components)


def test_adding_a_contradicted_claim_never_raises_the_score():
    before = score_page(facts()).credibility
    for n in range(1, 8):
        more = BASE_CLAIMS + [claim("efficacy", {"strength": "cure"}, "contradicted")] * n
        after = score_page(facts(claims=more)).credibility
        assert after <= before
        before = after


def test_adding_an_accurate_risk_disclosure_never_lowers_the_score():
    disclosure = claim("safety", {"assertion": "side_effects_disclosed"}, "consistent", 3)
    before = score_page(facts()).credibility
    after = score_page(facts(claims=BASE_CLAIMS + [disclosure], omissions=())).credibility
    assert after > before
    # and a disclosure added even when no omission was recorded
    assert score_page(facts(claims=BASE_CLAIMS + [disclosure])).credibility >= before


def test_review_claims_do_not_count_as_the_page_s_own():
    as_review = [replace(c, source="review") for c in BASE_CLAIMS]
    assert score_page(facts(claims=as_review)).credibility > score_page(facts()).credibility


def test_score_is_clamped():
    many = [claim("efficacy", {"strength": "cure"}, "contradicted")] * 30 + \
           [claim("dose", {}, "overstated")] * 30 + [claim("efficacy_rate", {}, "unsupported")] * 30
    assert score_page(facts(claims=many)).credibility >= 0


def test_site_score_is_the_mean_of_its_pages():
    from pipeline.records import Document

    a = Document("u1", "u1", None, "h", None, "s", None, None, "en", "t", score=score_page(facts()))
    b = Document("u2", "u2", None, "h", None, "s", None, None, "en", "t", score=score_page(facts(claims=[], omissions=())))
    site = score_site([a, b])
    assert site.credibility == round((a.score.credibility + b.score.credibility) / 2, 1)
