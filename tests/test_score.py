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


# --------------------------------------------------------------------------- with readings and real pages

def test_claims_the_page_does_not_assert_are_not_scored():
    from pipeline.check import ASSERTED, Reading

    rate = claim("efficacy_rate", {"percent": 76}, "unsupported", 3)
    reported = Reading(not_asserted="The page reports what others claim.")
    as_asserted = score_page(facts(claims=[rate], omissions=()))
    assert {c.name for c in as_asserted.components} >= {"unsupported_claims", "unsourced_success_rates"}
    s = score_page(PageFacts(sentences=SENTS, claims=[rate], omissions=(), n_testimonials=0, kind="clinic",
                             author=None, published=None, readings=(reported,)))
    assert not {"unsupported_claims", "unsourced_success_rates"} & {c.name for c in s.components}
    side_effect_rate = Reading(benefit=False)  # "76% reported psychomimetic effects" is not a success rate
    s = score_page(PageFacts(sentences=SENTS, claims=[rate], omissions=(), n_testimonials=0, kind="clinic",
                             author=None, published=None, readings=(side_effect_rate,)))
    assert "unsourced_success_rates" not in {c.name for c in s.components}
    assert ASSERTED.asserted


def _page(resources, path, kind):
    from pipeline.analyze import analyze_bytes
    from pipeline.settings import load_settings
    from tests.conftest import SITES

    f = SITES / path
    return analyze_bytes(f.read_bytes(), url=f.resolve().as_uri(), content_type="text/html", res=resources,
                         settings=load_settings(), kind=kind)


def _rescore(resources, doc, claims, kind):
    from pipeline.check import omissions

    return score_page(PageFacts(sentences=doc.sentences, claims=claims, kind=kind, n_testimonials=0,
                                omissions=omissions(claims, resources.findings) if kind == "clinic" else (),
                                author=doc.author, published=doc.published)).credibility


def test_monotone_on_real_pages(resources):
    """Every contradicted claim of the aggressive clinic, added to the sober clinic's pages, never raises their
    score; every accurate risk or regulatory disclosure of the evidence site, added to the aggressive clinic's
    pages, never lowers theirs (omissions are recomputed each time)."""
    summit = [_page(resources, p, "clinic") for p in ("summit-ketamine/index.html", "summit-ketamine/faq.html",
                                                      "summit-ketamine/treatments/chronic-pain.html")]
    uplands = [_page(resources, p, "evidence") for p in ("uplands-pain-research/research/ketamine-safety.html",
                                                         "uplands-pain-research/patients/ketamine-faq.html")]
    harbor = [_page(resources, p, "clinic") for p in ("harbor-anesthesia/ketamine-infusions.html",
                                                      "harbor-anesthesia/fees-and-faq.html")]
    contradicted = [c for d in summit for c in d.claims if c.verdict and c.verdict.label == "contradicted"]
    disclosures = [c for d in uplands for c in d.claims if c.verdict and c.verdict.label == "consistent"
                   and c.value.get("assertion") in ("side_effects_disclosed", "abuse_risk_disclosed",
                                                    "contraindications_disclosed", "off_label",
                                                    "controlled_substance")]
    assert contradicted and disclosures
    for doc in harbor:
        before = _rescore(resources, doc, list(doc.claims), "clinic")
        for c in contradicted:
            after = _rescore(resources, doc, list(doc.claims) + [replace(c, sentence=0)], "clinic")
            assert after <= before
    for doc in summit:
        before = _rescore(resources, doc, list(doc.claims), "clinic")
        for c in disclosures:
            after = _rescore(resources, doc, list(doc.claims) + [replace(c, sentence=0)], "clinic")
            assert after >= before
