"""Table-driven claim extraction: (text, expected claims). Each expected claim is
(type, exact text, subset of value, {flag: bool}); only the listed keys are compared. Sentences are written for
these tests (none is copied from a seed or a sample page); each type has plain, negated, hedged, ranged,
spelled-out and machine-spun cases where the type has them."""

import re

import pytest

from pipeline.claims import _matches, claims_from_doc, load_rules, sentences_from_doc
from pipeline.errors import BadInput

CASES = [
    # ---------------------------------------------------------------- duration: value, aspect, vague bounds
    ("Ketamine infusions give relief that lasts for months.",
     [("duration", "lasts for months", {"min_days": 60, "max_days": 365, "aspect": "relief"}, {})]),
    ("Most patients report relief lasting about two weeks.",
     [("duration", "lasting about two weeks", {"min_days": 14, "max_days": 14, "aspect": "relief"}, {})]),
    ("Each infusion takes about 45 minutes in a private suite.",
     [("duration", "about 45 minutes", {"min_days": 0.031, "max_days": 0.031, "aspect": "session"}, {})]),
    ("We recommend six infusions over two weeks.",
     [("sessions", "six infusions", {"low": 6, "high": 6}, {}),
      ("duration", "over two weeks", {"min_days": 14, "max_days": 14, "aspect": "course"}, {})]),
    ("Many patients feel relief within hours.",
     [("duration", "within hours", {"min_days": 0, "max_days": 1, "aspect": "onset"}, {})]),
    ("The benefit does not last for months.",
     [("duration", "last for months", {"aspect": "relief"}, {"negated": True})]),
    ("Pain scores were lowest forty eight hours after the infusion, when relief peaked.",
     [("duration", "forty eight hours", {"min_days": 2, "max_days": 2, "aspect": "relief"}, {})]),
    # spun copy: "≥forty eight hours" glued to its sign
    ("The trial's end point was the lowest pain rating ≥forty eight hours after the drip stopped.",
     [("duration", "≥forty eight hours", {"min_days": 2, "max_days": None, "aspect": "relief"}, {})]),
    ("Ketamine offers long-lasting relief for nerve pain.",
     [("duration", "long-lasting relief", {"min_days": 30, "max_days": None, "aspect": "relief"}, {}),
      ("condition", "nerve pain", {"condition": "neuropathic_pain"}, {})]),
    ("Relief usually lasts weeks to months after the first series.",
     [("duration", "usually lasts weeks to months", {"min_days": 14, "max_days": 365, "aspect": "relief"}, {})]),
    ("Most reviewers got a few days to a couple of weeks of relief.",
     [("duration", "a few days to a couple of weeks", {"min_days": 2, "max_days": 14, "aspect": "relief"}, {})]),
    ("Our longer pain sessions run for 60 to 90 minutes.",
     [("duration", "for 60 to 90 minutes", {"min_days": 0.042, "max_days": 0.0625, "aspect": "session"}, {})]),
    ("A typical plan is five consecutive days of four-hour infusions.",
     [("duration", "five consecutive days", {"min_days": 5, "max_days": 5, "aspect": "course"}, {}),
      ("duration", "four-hour", {"min_days": 0.167, "aspect": "session"}, {})]),
    ("Studies suggest relief may last for weeks.",
     [("duration", "last for weeks", {"min_days": 14, "max_days": 60, "aspect": "relief"}, {"hedged": True})]),
    ("The review judged it a short-term benefit.",
     [("duration", "short-term benefit", {"min_days": None, "max_days": 14, "aspect": "relief"}, {})]),
    ("Some of our patients go up to a year between boosters.",
     [("duration", "up to a year", {"min_days": None, "max_days": 365, "aspect": "relief"}, {"hedged": True})]),
    # machine-spun synonyms for "short-term" and "long-term"
    ("The infusions deliver quick-phrase profit but no proof of long-time period advantage.",
     [("duration", "quick-phrase profit", {"max_days": 14, "aspect": "relief"}, {}),
      ("duration", "long-time period advantage", {"min_days": 30, "aspect": "relief"}, {"negated": True})]),
    # times that are no claim: fasting, a wait, side effects wearing off, a study's follow-up, history
    ("Please do not eat for six hours before your appointment.", []),
    ("A nurse will call you within one business day.", []),
    ("The dizziness usually passes within an hour.",  # a side effect, and how long it lasts: no duration claim
     [("safety", "dizziness", {"assertion": "side_effects_disclosed"}, {})]),
    ("They followed the patients for a year.", []),
    ("She had lived with the condition for twelve years.", []),
    ("We offer boosters every six weeks.", []),
    # ---------------------------------------------------------------- dose
    ("We infuse 0.5 to 2 mg/kg over one hour.",
     [("dose", "0.5 to 2 mg/kg over one hour", {"low": 0.5, "high": 2, "unit": "mg/kg", "over_hours": 1}, {})]),
    ("Guideline infusions run at 0.5–2 mg/kg/h intravenously.",
     [("dose", "0.5–2 mg/kg/h", {"low": 0.5, "high": 2, "unit": "mg/kg/h", "route": "iv"}, {})]),
    ("A trial of ketamine should total at least 80 mg over one hour.",
     [("dose", "at least 80 mg over one hour", {"low": 80, "high": None, "unit": "mg", "over_hours": 1}, {})]),
    ("The infusion starts at 0.35 mg/kg per hour.",
     [("dose", "0.35 mg/kg per hour", {"low": 0.35, "unit": "mg/kg/h", "route": "iv"}, {})]),
    ("Doses range from half a milligram per kilogram to two milligrams per kilogram of intranasal ketamine.",
     [("dose", "two milligrams per kilogram", {"low": 2, "unit": "mg/kg", "route": "intranasal"}, {})]),
    ("The depression protocol gives 0.5 mg/kg over 40 minutes.",
     [("condition", "depression", {"condition": "depression"}, {}),
      ("dose", "0.5 mg/kg over 40 minutes", {"low": 0.5, "unit": "mg/kg", "over_hours": 0.667}, {})]),
    ("I was taking 60 mg of oxycodone a day.", []),  # another drug's dose
    # ---------------------------------------------------------------- efficacy_rate
    ("89% of our patients respond to ketamine.",
     [("efficacy_rate", "89%", {"percent": 89}, {})]),
    ("Seven out of ten patients feel better after one infusion.",
     [("efficacy_rate", "Seven out of ten patients", {"percent": 70}, {}),
      ("sessions", "one infusion", {"low": 1, "high": 1}, {})]),
    ("Approximately two thirds of patients respond.",
     [("efficacy_rate", "Approximately two thirds of patients", {"percent": 66.7}, {})]),
    ("Our success rate is 80 percent.", [("efficacy_rate", "80 percent", {"percent": 80}, {})]),
    # percentages that are no success rate: side effects, discounts, ratings, improvement sizes
    ("Dissociation was reported by 70% of patients on ketamine.",  # a side effect's rate is no success rate
     [("safety", "Dissociation", {"assertion": "side_effects_disclosed"}, {})]),
    ("Teachers receive 10% off every infusion.", []),
    ("It rates 4.6 out of 5 from 112 verified patients.", []),
    ("My pain is about 70% better.", []),
    # ---------------------------------------------------------------- sessions
    ("After a dozen infusions I finally slept.", [("sessions", "a dozen infusions", {"low": 12, "high": 12}, {})]),
    ("The fog lifted by the third or fourth session.",
     [("sessions", "by the third or fourth session", {"low": 3, "high": 4}, {})]),
    ("Our most popular option is the six-infusion series.",
     [("sessions", "six-infusion series", {"low": 6, "high": 6}, {})]),
    ("Most patients need four to six infusions.",
     [("sessions", "four to six infusions", {"low": 4, "high": 6}, {})]),
    ("Patients wait before a single dose is given.", []),
    ("We have performed 3,500 infusions since 2017.", []),
    # ---------------------------------------------------------------- price
    ("Infusions cost $400 to $800 per infusion.",
     [("price", "$400 to $800", {"low": 400, "high": 800, "currency": "USD"}, {})]),
    ("The six-infusion series is $2,700.",
     [("sessions", "six-infusion series", {"low": 6}, {}), ("price", "$2,700", {"low": 2700, "high": 2700}, {})]),
    ("Boosters cost 450 dollars each.", [("price", "450 dollars", {"low": 450, "high": 450}, {})]),
    ("Clinics charge several hundred dollars per infusion.",
     [("price", "several hundred dollars", {"low": 300, "high": 900}, {})]),
    ("Boosters run $400 or more each.", [("price", "$400 or more", {"low": 400, "high": None}, {})]),
    ("Paying up front saves you $300.", []),
    # ---------------------------------------------------------------- regulatory, with negation turned into what is asserted
    ("Ketamine is FDA approved for chronic pain.",
     [("regulatory", "FDA approved for chronic pain", {"assertion": "fda_approved_for_pain"}, {"negated": False}),
      ("condition", "chronic pain", {"condition": "chronic_pain"}, {})]),
    ("Ketamine is not FDA approved for pain.",
     [("regulatory", "not FDA approved for pain", {"assertion": "off_label"}, {"negated": False})]),
    ("The FDA hasn't approved the drug for this reason.",
     [("regulatory", "The FDA hasn't approved the drug for this reason", {"assertion": "off_label"}, {})]),
    ("It is not approved for pain.", [("regulatory", "is not approved for pain", {"assertion": "off_label"}, {})]),
    ("Ketamine has been FDA-approved as an anesthetic since 1970.",
     [("regulatory", "FDA-approved as an anesthetic", {"assertion": "fda_approved_anesthetic"}, {})]),
    ("In the United States it is approved only as an anaesthetic.",
     [("regulatory", "approved only as an anaesthetic", {"assertion": "fda_approved_anesthetic"}, {})]),
    ("Ketamine is a Schedule III controlled substance.",
     [("regulatory", "Schedule III controlled substance", {"assertion": "controlled_substance"}, {})]),
    ("Using ketamine for pain is off-label.", [("regulatory", "off-label", {"assertion": "off_label"}, {})]),
    ("Medicare does not cover off-label ketamine infusions.",
     [("regulatory", "off-label", {"assertion": "off_label"}, {"negated": False})]),
    ("Spravato (esketamine) nasal spray was approved by the FDA in 2019 for depression.",
     [("regulatory", "Spravato (esketamine) nasal spray was approved", {"assertion": "esketamine_approved"}, {}),
      ("condition", "depression", {"condition": "depression"}, {})]),
    # ---------------------------------------------------------------- safety
    ("Ketamine is completely non-addictive.", [("safety", "non-addictive", {"assertion": "non_addictive"}, {})]),
    ("We cannot tell you that it is non-addictive.",
     [("safety", "non-addictive", {"assertion": "non_addictive"}, {"negated": True})]),
    ("There are no side effects.", [("safety", "no side effects", {"assertion": "no_side_effects"}, {})]),
    ("Side effects include nausea and dissociation.",
     [("safety", "Side effects include", {"assertion": "side_effects_disclosed"}, {})]),
    ("I felt floaty and a bit queasy during the drip.",
     [("safety", "floaty", {"assertion": "side_effects_disclosed"}, {})]),
    ("Frequent use can damage the bladder.", [("safety", "damage the bladder", {"assertion": "side_effects_disclosed"}, {})]),
    ("Ketamine can be misused, and dependence is possible.",
     [("safety", "can be misused", {"assertion": "abuse_risk_disclosed"}, {})]),
    ("It is not suitable for people with a history of psychosis.",
     [("safety", "not suitable for people", {"assertion": "contraindications_disclosed"}, {})]),
    ("Ketamine is generally safe under supervision.", [("safety", "is generally safe", {"assertion": "safe"}, {})]),
    ('Claims such as "no side effects" are not consistent with the evidence.',
     [("safety", "no side effects", {"assertion": "no_side_effects"}, {"negated": True})]),
    ("Gabapentin commonly causes drowsiness.", []),  # another drug's side effect
    # ---------------------------------------------------------------- efficacy
    ("Ketamine permanently resets pain pathways.",
     [("efficacy", "permanently", {"strength": "permanent"}, {}),
      ("efficacy", "resets pain pathways", {"strength": "strong"}, {})]),
    ("Ketamine may help reduce pain in some patients.",
     [("efficacy", "may help reduce", {"strength": "hedged"}, {"hedged": True})]),
    ("Ketamine cured my migraines.",
     [("efficacy", "cured", {"strength": "cure"}, {}), ("condition", "migraines", {"condition": "migraine"}, {})]),
    ("Ketamine does not cure chronic pain.",
     [("efficacy", "cure", {"strength": "cure"}, {"negated": True}),
      ("condition", "chronic pain", {"condition": "chronic_pain"}, {"negated": True})]),
    ("It is a breakthrough that works when nothing else does.",
     [("efficacy", "breakthrough", {"strength": "strong"}, {})]),
    ("The early evidence is promising.", [("efficacy", "promising", {"strength": "hedged"}, {"hedged": True})]),
    ("There is no guarantee of a specific outcome.",
     [("efficacy", "guarantee", {"strength": "strong"}, {"negated": True})]),
    ("A 2019 meta-analysis found that infusions significantly reduced pain.", []),  # a study's statistic
    ("Reimbursement is not guaranteed.", []),
    # ---------------------------------------------------------------- conditions through the vocabulary
    ("We treat fibromyalgia, migraine and RSD.",
     [("condition", "fibromyalgia", {"condition": "fibromyalgia"}, {}),
      ("condition", "migraine", {"condition": "migraine"}, {}),
      ("condition", "RSD", {"condition": "crps"}, {})]),
    ("The guideline found weak or no evidence for phantom limb pain, fibromyalgia or migraine.",
     [("condition", "phantom limb pain", {}, {"negated": True}), ("condition", "fibromyalgia", {}, {"negated": True}),
      ("condition", "migraine", {}, {"negated": True})]),
    ("For fibromyalgia and low back pain, the experts found weak or no evidence.",
     [("condition", "fibromyalgia", {}, {"negated": True}), ("condition", "low back pain", {}, {"negated": True})]),
    ("Early studies suggest ketamine may ease treatment-resistant depression.",
     [("efficacy", "may ease", {"strength": "hedged"}, {"hedged": True}),
      ("condition", "treatment-resistant depression", {"condition": "treatment_resistant_depression"},
       {"hedged": True})]),
    ("Clinics promote ketamine for posttraumatic pressure disorder.",  # spun "post-traumatic stress disorder"
     [("condition", "posttraumatic pressure disorder", {"condition": "ptsd"}, {})]),
    # mentions that are no claim: a symptom, a risk, another treatment, a description, a history
    ("Ketamine can cause respiratory depression at high doses.", []),
    ("Gabapentin helps some people with nerve pain.", []),
    ("Chronic pain affects millions of adults.", []),
    ("People with a history of substance use disorder are at higher risk.", []),
    ("She has had fibromyalgia since college.", []),
    # ---------------------------------------------------------------- sentences that assert nothing
    ("Is ketamine FDA approved for chronic pain?", []),
    ("Orhurhu V, Cohen SP. Ketamine infusions for chronic pain: a meta-analysis. Anesth Analg. 2019;129(1):241-254.",
     []),
    ("Parking is available behind the building.", []),
    ("We have served the community twice a week for years.", []),
]


def _check(claims, expected):
    got = [(c.type, c.text) for c in claims if not c.other_treatment]
    assert got == [(t, txt) for t, txt, _, _ in expected], got
    claims = [c for c in claims if not c.other_treatment]
    for c, (_, _, value, flags) in zip(claims, expected):
        for k, v in value.items():
            if v is None:
                assert c.value.get(k) is None, (c.text, k, c.value)
            else:
                assert c.value.get(k) == pytest.approx(v, abs=0.002), (c.text, k, c.value)
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


@pytest.mark.parametrize("text,sentences", [
    ("Dr. Whitfield said e.g. the U.S. agency. Is it approved? No. It is not.",
     ["Dr. Whitfield said e.g. the U.S. agency.", "Is it approved?", "No.", "It is not."]),
    # footnote numbers glued to a full stop, as spun copy prints them
    ("It is poorly controlled.9  Ketamine clinics are common.", ["It is poorly controlled.9", "Ketamine clinics are common."]),
    ("It is poorly controlled.nine Ketamine clinics are common.",
     ["It is poorly controlled.nine", "Ketamine clinics are common."]),
    ("Conditions\n- CRPS\n- Migraine", ["Conditions", "- CRPS", "- Migraine"]),
])
def test_sentence_boundaries(nlp, text, sentences):
    assert [s.text for s in sentences_from_doc(nlp(text))] == sentences


def test_a_list_under_a_treated_conditions_heading_makes_claims(nlp):
    text = "Conditions We Treat\n- Fibromyalgia\n- Postpartum depression\nWho is not a candidate?\n- Bipolar disorder"
    claims = claims_from_doc(nlp(text), [])
    assert [(c.type, c.value.get("condition")) for c in claims if c.type == "condition"] == [
        ("condition", "fibromyalgia"), ("condition", "postpartum_depression")]


def test_claims_about_other_treatments_are_marked(nlp):
    doc = nlp("Opioids provide relief for months.")
    (claim,) = claims_from_doc(doc, sentences_from_doc(doc))
    assert claim.other_treatment is True


def test_citations_are_marked(nlp):
    doc = nlp("A 2019 systematic review found relief lasting up to two weeks. Relief lasts for months.")
    cited = {c.text: c.cited for c in claims_from_doc(doc, sentences_from_doc(doc))}
    assert cited == {"lasting up to two weeks": True, "lasts for months": False}


def test_anchored_patterns_find_every_match_a_full_scan_finds(nlp):
    """Patterns run only around their anchor words: on the sample pages and these tests' sentences they must
    find every match the full regex finds over the whole text."""
    from pipeline import extract
    from pipeline.settings import load_settings

    s = load_settings()
    rules = load_rules(s.patterns_path, s.vocabulary_path)
    texts = [c[0] for c in CASES]
    for path in sorted(s.sites_dir.rglob("*.html")):
        ex = extract.extract(path.read_bytes(), "http://t.test/")
        if ex is not None:
            texts.append(ex.text)
    for pattern in rules.patterns:
        for text in texts:
            full = {m.span() for m in pattern.regex.finditer(text)}
            anchored = {m.span() for m in _matches(pattern, text, text.lower(), {})}
            assert full <= anchored, (pattern.id, [text[a:b] for a, b in full - anchored])


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


def test_missing_cue_sets_are_named(tmp_path):
    from pipeline.settings import load_settings

    bad = tmp_path / "claims.yaml"
    bad.write_text("patterns:\n  - id: z\n    type: dose\n    regex: 'mg'\n")
    with pytest.raises(BadInput, match=re.escape("cue sets ['relief'")):
        load_rules(bad, load_settings().vocabulary_path)
