"""Table-driven claim extraction: (text, expected claims). Each expected claim is
(type, exact text, subset of value, {flag: bool}); only the listed keys are compared."""

import pytest

from pipeline.claims import claims_from_doc, load_rules, sentences_from_doc
from pipeline.errors import BadInput

CASES = [
    # duration: vague, numeric, spelled out, ranges, aspects
    ("Ketamine infusions give relief that lasts for months.",
     [("duration", "for months", {"min_days": 60, "max_days": 365, "aspect": "relief"}, {})]),
    ("Most patients report relief lasting about two weeks.",
     [("duration", "lasting about two weeks", {"min_days": 14, "max_days": 14, "aspect": "relief"}, {})]),
    ("Each infusion takes about 45 minutes in a private suite.",
     [("duration", "about 45 minutes", {"aspect": "session"}, {})]),
    ("We recommend six infusions over two weeks.",
     [("sessions", "six infusions", {"low": 6, "high": 6}, {}),
      ("duration", "over two weeks", {"min_days": 14, "max_days": 14, "aspect": "course"}, {})]),
    ("Many patients feel relief within hours.",
     [("duration", "within hours", {"aspect": "onset"}, {})]),
    ("The benefit does not last for months.",
     [("duration", "for months", {"aspect": "relief"}, {"negated": True})]),
    ("Pain scores were lowest forty eight hours after the infusion, when relief peaked.",
     [("duration", "forty eight hours", {"min_days": 2, "max_days": 2}, {})]),
    ("Ketamine offers long-lasting relief for nerve pain.",
     [("duration", "long-lasting relief", {"min_days": 30, "max_days": None, "aspect": "relief"}, {}),
      ("condition", "nerve pain", {"condition": "neuropathic_pain"}, {})]),
    # dose
    ("We infuse 0.5 to 2 mg/kg over one hour.",
     [("dose", "0.5 to 2 mg/kg over one hour", {"low": 0.5, "high": 2, "unit": "mg/kg", "over_hours": 1}, {})]),
    ("Guideline infusions run at 0.5–2 mg/kg/h intravenously.",
     [("dose", "0.5–2 mg/kg/h", {"low": 0.5, "high": 2, "unit": "mg/kg/h", "route": "iv"}, {})]),
    ("A trial of ketamine should total at least 80 mg over one hour.",
     [("dose", "80 mg over one hour", {"low": 80, "unit": "mg", "over_hours": 1}, {})]),
    # efficacy_rate
    ("89% of our patients respond to ketamine.",
     [("efficacy_rate", "89%", {"percent": 89}, {})]),
    ("Seven out of ten patients feel better after one infusion.",
     [("efficacy_rate", "Seven out of ten patients", {"percent": 70}, {}),
      ("sessions", "one infusion", {"low": 1, "high": 1}, {})]),
    ("Approximately two thirds of patients respond.",
     [("efficacy_rate", "Approximately two thirds of patients", {"percent": 66.7}, {})]),
    # price
    ("Infusions cost $400 to $800 per infusion.",
     [("price", "$400 to $800", {"low": 400, "high": 800, "currency": "USD"}, {})]),
    ("The six-infusion series is $2,700.",
     [("price", "$2,700", {"low": 2700, "high": 2700}, {})]),
    # regulatory, with negation turned into what is asserted
    ("Ketamine is FDA approved for chronic pain.",
     [("regulatory", "FDA approved for chronic pain", {"assertion": "fda_approved_for_pain"}, {"negated": False})]),
    ("Ketamine is not FDA approved for pain.",
     [("regulatory", "not FDA approved for pain", {"assertion": "off_label"}, {"negated": False})]),
    ("The FDA hasn't approved the drug for this reason.",
     [("regulatory", "The FDA hasn't approved the drug for this reason", {"assertion": "off_label"}, {})]),
    ("Ketamine has been FDA-approved as an anesthetic since 1970.",
     [("regulatory", "FDA-approved as an anesthetic", {"assertion": "fda_approved_anesthetic"}, {})]),
    ("Ketamine is a Schedule III controlled substance.",
     [("regulatory", "Schedule III controlled substance", {"assertion": "controlled_substance"}, {})]),
    ("Using ketamine for pain is off-label.",
     [("regulatory", "off-label", {"assertion": "off_label"}, {})]),
    ("Spravato (esketamine) nasal spray was approved by the FDA in 2019 for depression.",
     [("regulatory", "Spravato (esketamine) nasal spray was approved", {"assertion": "esketamine_approved"}, {}),
      ("condition", "depression", {"condition": "depression"}, {})]),
    # safety
    ("Ketamine is completely non-addictive.",
     [("safety", "non-addictive", {"assertion": "non_addictive"}, {})]),
    ("There are no side effects.",
     [("safety", "no side effects", {"assertion": "no_side_effects"}, {})]),
    ("Side effects include nausea and dissociation.",
     [("safety", "Side effects include", {"assertion": "side_effects_disclosed"}, {})]),
    # efficacy, hedged
    ("Ketamine permanently resets pain pathways.",
     [("efficacy", "permanently", {"strength": "permanent"}, {}),
      ("efficacy", "resets pain pathways", {"strength": "strong"}, {})]),
    ("Ketamine may help reduce pain in some patients.",
     [("efficacy", "may help reduce", {"strength": "hedged"}, {"hedged": True})]),
    ("Studies suggest relief may last for weeks.",
     [("duration", "for weeks", {"aspect": "relief"}, {"hedged": True})]),
    # conditions through the vocabulary
    ("We treat fibromyalgia, migraine and RSD.",
     [("condition", "fibromyalgia", {"condition": "fibromyalgia"}, {}),
      ("condition", "migraine", {"condition": "migraine"}, {}),
      ("condition", "RSD", {"condition": "crps"}, {})]),
    # nothing to claim
    ("Parking is available behind the building.", []),
    ("We have served the community twice a week for years.", []),
]


def _check(claims, expected):
    got = [(c.type, c.text) for c in claims]
    assert got == [(t, txt) for t, txt, _, _ in expected], got
    for c, (_, _, value, flags) in zip(claims, expected):
        for k, v in value.items():
            assert c.value.get(k) == pytest.approx(v) if v is not None else c.value.get(k) is None, (c.text, k, c.value)
        for k, v in flags.items():
            assert getattr(c, k) is v, (c.text, k)


@pytest.mark.parametrize("text,expected", CASES, ids=[c[0][:40] for c in CASES])
def test_claims_table(nlp, text, expected):
    doc = nlp(text)
    sents = sentences_from_doc(doc)
    claims = claims_from_doc(doc, sents)
    _check(claims, expected)
    for c in claims:
        assert c.text == text[c.start:c.end]


def test_offsets_index_the_text_across_sentences(nlp):
    text = "Ketamine for pain\nRelief lasts for months. It costs $450.\n\nWe treat CRPS."
    doc = nlp(text)
    sents = sentences_from_doc(doc)
    assert [s.text for s in sents] == ["Ketamine for pain", "Relief lasts for months.", "It costs $450.", "We treat CRPS."]
    for s in sents:
        assert text[s.start:s.end] == s.text
    claims = claims_from_doc(doc, sents)
    assert {(c.type, c.sentence) for c in claims} >= {("duration", 1), ("price", 2), ("condition", 3)}


def test_claims_about_other_treatments_are_marked(nlp):
    doc = nlp("Opioids provide relief for months.")
    (claim,) = claims_from_doc(doc, sentences_from_doc(doc))
    assert claim.other_treatment is True


def test_unknown_pattern_key_is_rejected(tmp_path):
    from pipeline.settings import load_settings

    bad = tmp_path / "claims.yaml"
    bad.write_text("patterns:\n  - id: x\n    type: duration\n    regex: 'a'\n    colour: red\n")
    with pytest.raises(BadInput, match=r"pattern 0 \(x\): unknown keys \['colour'\]"):
        load_rules(bad, load_settings().vocabulary_path)


def test_bad_regex_is_rejected(tmp_path):
    from pipeline.settings import load_settings

    bad = tmp_path / "claims.yaml"
    bad.write_text("patterns:\n  - id: y\n    type: dose\n    regex: '(unclosed'\n")
    with pytest.raises(BadInput, match=r"pattern 0 \(y\): bad or missing regex"):
        load_rules(bad, load_settings().vocabulary_path)


@pytest.mark.parametrize("text,expected", [
    ("The guideline found weak or no evidence for phantom limb pain, fibromyalgia or migraine.",
     [("condition", "phantom limb pain", {}, {"negated": True}), ("condition", "fibromyalgia", {}, {"negated": True}),
      ("condition", "migraine", {}, {"negated": True})]),
    ("Ketamine can cause respiratory depression at high doses.", []),
    ("The FDA approved esketamine nasal spray in 2019.",
     [("regulatory", "FDA approved esketamine", {"assertion": "esketamine_approved"}, {})]),
    ("Ketamine resets pain pathways.", [("efficacy", "resets pain pathways", {"strength": "strong"}, {})]),
], ids=["evidence-denial-list", "not-a-condition", "esketamine-approval", "reset-is-strong"])
def test_claims_that_must_not_become_accusations(nlp, text, expected):
    doc = nlp(text)
    _check(claims_from_doc(doc, sentences_from_doc(doc)), expected)
