"""The verdict engine on a small findings file written here, and validation of findings files."""

import textwrap

import pytest

from pipeline.check import judge, omissions
from pipeline.errors import BadInput
from pipeline.findings import load_findings
from pipeline.records import Claim

FINDINGS = textwrap.dedent("""
    topic: test
    title: Test findings
    findings:
      - id: meta-duration
        statement: Relief lasts about two weeks.
        evidence_grade: meta-analysis
        certainty: verified-source-text
        citations: [{reference: "Orhurhu V et al. Anesth Analg 2019", doi: 10.1213/ANE.0000000000004185}]
        short_citation: Orhurhu 2019
        judges:
          - {claim: duration, when: {aspect: relief, min_days: {gt: 30}}, verdict: contradicted, why: "Two weeks, not months."}
          - {claim: duration, when: {aspect: relief, min_days: {gt: 14, le: 30}}, verdict: overstated, why: Longer than found.}
          - {claim: duration, when: {aspect: relief, max_days: {le: 14}}, verdict: consistent, why: Matches.}
      - id: crps
        statement: CRPS benefit up to 12 weeks.
        evidence_grade: B
        certainty: verified-secondary-text
        citations: [{reference: Cohen 2018}]
        short_citation: Cohen 2018
        judges:
          - {claim: duration, when: {aspect: relief, context: {any_in: [crps]}, max_days: {le: 90}}, verdict: consistent, priority: 10, why: CRPS up to 12 weeks.}
          - {claim: duration, when: {aspect: relief, context: {any_in: [crps]}, min_days: {gt: 84}}, verdict: overstated, priority: 10, why: Beyond 12 weeks.}
      - id: strict
        statement: A stricter reading.
        evidence_grade: x
        certainty: verified-source-text
        citations: [{reference: X}]
        short_citation: X
        judges:
          - {claim: duration, when: {aspect: relief, min_days: {gt: 30}}, verdict: overstated, why: Also too long.}
      - id: approval
        statement: Approved only as an anesthetic.
        evidence_grade: label
        certainty: verified-source-text
        citations: [{reference: FDA label}]
        short_citation: FDA
        judges:
          - {claim: regulatory, when: {assertion: fda_approved_for_pain}, verdict: contradicted, why: Not approved for pain.}
          - {claim: regulatory, when: {assertion: off_label}, verdict: consistent, why: Pain use is off-label.}
      - id: guessed
        statement: Something nobody could read.
        evidence_grade: none
        certainty: unverified
        citations: [{reference: Unknown}]
        short_citation: Unknown
        judges:
          - {claim: efficacy_rate, when: {percent: {gt: 50}}, verdict: overstated, hedged_verdict: consistent, why: Rates are unverified.}
      - id: side-effects
        statement: Side effects are common.
        evidence_grade: trials
        certainty: verified-source-text
        citations: [{reference: Trials}]
        short_citation: Trials
        judges: []
    disclosures:
      - id: side_effects
        label: Side effects named
        satisfied_by: [{claim: safety, when: {assertion: side_effects_disclosed}}]
        finding: side-effects
        why_missing: No side effects named.
""")


@pytest.fixture
def fnd(tmp_path):
    p = tmp_path / "test.yaml"
    p.write_text(FINDINGS)
    return load_findings(p)[0]


def c(type_, value, **kw):
    return Claim(type=type_, text="x", start=0, end=1, sentence=0, value=value, **kw)


@pytest.mark.parametrize("claim,label,finding", [
    (c("duration", {"aspect": "relief", "min_days": 60, "max_days": 365}), "overstated", "strict"),  # least severe wins
    (c("duration", {"aspect": "relief", "min_days": 21, "max_days": 21}), "overstated", "meta-duration"),
    (c("duration", {"aspect": "relief", "min_days": 14, "max_days": 14}), "consistent", "meta-duration"),
    (c("duration", {"aspect": "relief", "min_days": 60, "max_days": 90}, context=("crps",)), "consistent", "crps"),
    (c("duration", {"aspect": "relief", "min_days": 365, "max_days": 3650}, context=("crps",)), "overstated", "crps"),
    (c("duration", {"aspect": "session", "min_days": 0.04, "max_days": 0.04}), "not_assessed", None),
    (c("regulatory", {"assertion": "fda_approved_for_pain"}), "contradicted", "approval"),
    (c("regulatory", {"assertion": "fda_approved_for_pain"}, hedged=True), "overstated", "approval"),
    (c("regulatory", {"assertion": "off_label"}), "consistent", "approval"),
    (c("regulatory", {"assertion": "fda_approved_for_pain"}, negated=True), "not_assessed", None),
    (c("efficacy_rate", {"percent": 89}), "overstated", "guessed"),
    (c("efficacy_rate", {"percent": 89}, hedged=True), "consistent", "guessed"),
    (c("duration", {"aspect": "relief", "min_days": 60}, other_treatment=True), "not_assessed", None),
])
def test_verdicts(fnd, claim, label, finding):
    v = judge(claim, fnd)
    assert (v.label, v.finding) == (label, finding)
    assert v.why
    if finding:
        assert v.citation


def test_unverified_finding_never_contradicts(tmp_path):
    bad = FINDINGS.replace("verdict: overstated, hedged_verdict: consistent", "verdict: contradicted")
    p = tmp_path / "bad.yaml"
    p.write_text(bad)
    with pytest.raises(BadInput, match=r"findings\[4\] \(guessed\).*unverified finding may not carry"):
        load_findings(p)


@pytest.mark.parametrize("old,new,where", [
    ("verdict: consistent, why: Matches.", "verdict: maybe, why: Matches.", r"findings\[0\] \(meta-duration\)\.judges\[2\]\.verdict"),
    ("aspect: relief, max_days: {le: 14}", "aspect: relief, max_days: {about: 14}", r"judges\[2\]\.when"),
    ("short_citation: Cohen 2018", "short_cite: Cohen 2018", r"findings\[1\] \(crps\)"),
])
def test_validation_names_file_entry_and_field(tmp_path, old, new, where):
    p = tmp_path / "bad.yaml"
    p.write_text(FINDINGS.replace(old, new, 1))
    with pytest.raises(BadInput, match=where) as err:
        load_findings(p)
    assert str(p) in str(err.value) and "\n" not in str(err.value)


def test_omissions_only_on_promoting_pages(fnd):
    selling = [c("duration", {"aspect": "relief", "min_days": 60})]
    assert [o.id for o in omissions(selling, fnd)] == ["side_effects"]
    disclosed = selling + [c("safety", {"assertion": "side_effects_disclosed"})]
    assert omissions(disclosed, fnd) == []
    assert omissions([c("price", {"low": 400})], fnd) == []


# --------------------------------------------------------------------------- reading: does the page assert it?
# Sentences from the accurate sample sites (uplands-pain-research, harbor-anesthesia) that were once judged as
# if the page asserted them, and sentences from the aggressive clinic that must stay judged.

from pipeline.check import apply_reading, read_claim, read_claims  # noqa: E402
from pipeline.records import Sentence  # noqa: E402


def at(sentence, claim_text, type_, value, label="neutral", **kw):
    """A claim located in a one-sentence page, as the extractor would give it."""
    start = sentence.index(claim_text)
    s = Sentence(0, 0, len(sentence), sentence, label)
    return Claim(type=type_, text=claim_text, start=start, end=start + len(claim_text), sentence=0, value=value,
                 **kw), s


RELIEF_MONTHS = {"min_days": 60, "max_days": 365, "aspect": "relief"}


@pytest.mark.parametrize("sentence,claim_text,type_,value,why", [
    ("Other clinics say relief lasts for months.", "for months", "duration", RELIEF_MONTHS, "others"),
    ("Ketamine infusion clinics have spread rapidly, and many advertise long-lasting relief for a wide range of "
     "painful conditions.", "long-lasting relief", "duration", {"min_days": 30, "aspect": "relief"}, "others"),
    ('He contrasted this with advertising that promised relief "for months" or "up to a year" after a short series '
     'of infusions.', "for months", "duration", RELIEF_MONTHS, "others"),
    ('Statements such as "no side effects", "completely non-addictive" or "safe for everyone" are not consistent '
     'with the evidence.', "non-addictive", "safety", {"assertion": "non_addictive"}, "others"),
    ("This study is sometimes quoted as showing that fibromyalgia responds especially well; its findings point the "
     "other way.", "fibromyalgia", "condition", {"condition": "fibromyalgia"}, "others"),
    ("Two reviews on this page repeat statements that members say were made by clinic staff: that ketamine is FDA "
     "approved for chronic pain, and that it cures back pain.", "FDA approved for chronic pain", "regulatory",
     {"assertion": "fda_approved_for_pain"}, "others"),
    ("Can ketamine cure my pain?", "cure", "efficacy", {"strength": "cure"}, "question"),
])
def test_claims_the_page_does_not_make_are_not_judged(fnd, sentence, claim_text, type_, value, why):
    claim, s = at(sentence, claim_text, type_, value)
    reading = read_claim(claim, s)
    assert not reading.asserted and reading.not_asserted
    v = judge(claim, fnd, reading)
    assert v.label == "not_assessed" and v.finding is None


@pytest.mark.parametrize("sentence,claim_text", [
    ("No good evidence shows that short outpatient infusions give relief lasting months, or that ketamine cures "
     "any chronic pain condition.", "lasting months"),
    ("We have not seen controlled evidence that a few short infusions give relief for many months, and we would "
     "rather you make a decision with realistic expectations.", "many months"),
    ("Claims that a few short infusions give relief for many months or a year are not backed by good studies.",
     "many months"),
])
def test_evidence_denials_negate_the_benefit_they_deny(findings, sentence, claim_text):
    claim, s = at(sentence, claim_text, "duration", RELIEF_MONTHS)
    reading = read_claim(claim, s)
    assert reading.negated
    assert judge(apply_reading(claim, reading), findings, reading).label in ("consistent", "not_assessed")


@pytest.mark.parametrize("sentence,claim_text,negated", [
    ("For fibromyalgia, migraine, low back pain, phantom limb pain, pain after shingles and cancer pain, the "
     "guideline found weak or no evidence.", "fibromyalgia", True),
    ("In refractory neuropathic pain, a single infusion of 0.5 mg/kg did not reduce daily pain over 35 days "
     "compared with placebo.", "neuropathic pain", True),
    ("We generally do not recommend ketamine infusions for fibromyalgia, migraine or low back pain, because the 2018 "
     "US consensus guideline found weak or no evidence of benefit for these conditions.", "fibromyalgia", True),
    # the positive half of a contrast stays positive
    ("Guidelines note some evidence for ketamine's use in CRPS, but the experts found weak or no evidence for "
     "fibromyalgia.", "CRPS", False),
    ("Other conditions that respond well include fibromyalgia and migraine.", "fibromyalgia", False),
])
def test_denial_scope(sentence, claim_text, negated):
    claim, s = at(sentence, claim_text, "condition", {"condition": "x"})
    assert read_claim(claim, s).negated is negated


@pytest.mark.parametrize("sentence,claim_text,type_,value", [
    # side effects counted, not patients helped
    ("Psychomimetic side effects were reported by 76% of patients on ketamine and 18% on placebo.", "76%",
     "efficacy_rate", {"percent": 76}),
    ("Veterans, first responders and teachers receive 10% off every infusion.", "10%", "efficacy_rate",
     {"percent": 10}),
    # a trial infusion is not a promise of relief from one infusion
    ("For some other nerve pain conditions we may offer a single trial infusion after discussing the limited "
     "evidence with you.", "a single trial infusion", "sessions", {"low": 1, "high": 1}),
    # a research topic, a regulatory status, a description: no claim that ketamine helps
    ("Recruitment opens for our feasibility study of esketamine in post-surgical nerve pain.", "nerve pain",
     "condition", {"condition": "neuropathic_pain"}),
    ("Helen is a pain medicine trainee whose doctoral work is on systematic reviews of treatments for neuropathic "
     "pain and CRPS.", "neuropathic pain", "condition", {"condition": "neuropathic_pain"}),
    ("Ketamine use for fibromyalgia and migraine is off-label.", "fibromyalgia", "condition",
     {"condition": "fibromyalgia"}),
    ("Neuropathic pain is one of the hardest kinds of pain to treat.", "Neuropathic pain", "condition",
     {"condition": "neuropathic_pain"}),
    # a follow-up time point is not how long relief lasts
    ("Average pain fell modestly, from 6.8 to 5.7 out of 10 at 12 months, but only 93 people provided 12-month "
     "data.", "12 months", "duration", {"min_days": 360, "max_days": 360, "aspect": "relief"}),
    ("Average pain fell modestly, from 6.8 to 5.7 out of 10 at 12 months, but only 93 people provided 12-month "
     "data.", "12-month", "duration", {"min_days": 360, "max_days": 360, "aspect": "relief"}),
    # a qualified statement of risk, not an unqualified "safe"
    ("For a single supervised infusion in a healthy adult, serious harm is rare and most side effects pass within "
     "hours.", "serious harm is rare", "safety", {"assertion": "safe"}),
])
def test_no_problem_without_a_benefit_claim(sentence, claim_text, type_, value, findings):
    claim, s = at(sentence, claim_text, type_, value, context=("neuropathic_pain",))
    reading = read_claim(claim, s)
    assert judge(apply_reading(claim, reading), findings, reading).label not in ("overstated", "contradicted",
                                                                                 "unsupported")


@pytest.mark.parametrize("sentence,claim_text,type_,value,label", [
    ("Other conditions that respond well include diabetic neuropathy, postherpetic neuralgia and arthritis.",
     "arthritis", "condition", {"condition": "arthritis"}, "overstated"),
    ("Ketamine works for fibromyalgia because it turns down central sensitization.", "fibromyalgia", "condition",
     {"condition": "fibromyalgia"}, "contradicted"),
    ("Once they finish their initial series, most enjoy relief that lasts for months.", "for months", "duration",
     RELIEF_MONTHS, "contradicted"),
    ("89% of our patients respond to treatment.", "89%", "efficacy_rate", {"percent": 89}, "unsupported"),
    ("It is also FDA approved for chronic pain management when administered by a qualified physician.",
     "FDA approved for chronic pain", "regulatory", {"assertion": "fda_approved_for_pain"}, "contradicted"),
    ("Ketamine infusion therapy promises to significantly reduce chronic pain after only one treatment.",
     "one treatment", "sessions", {"low": 1, "high": 1}, "contradicted"),
    ("Yet those who use it for chronic pain say the relief they get after their treatments lasts for months.",
     "for months", "duration", RELIEF_MONTHS, "unsupported"),  # relayed from patients: hedged
    ("- Fibromyalgia", "Fibromyalgia", "condition", {"condition": "fibromyalgia"}, "contradicted"),  # a list item
    ("I have seen fibromyalgia patients return to work and migraine sufferers go from twenty headache days a month "
     "to two or three.", "migraine", "condition", {"condition": "migraine"}, "overstated"),
    ("Ketamine is completely safe.", "is completely safe", "safety", {"assertion": "safe"}, "overstated"),
])
def test_claims_the_page_makes_stay_judged(sentence, claim_text, type_, value, label, findings):
    ctx = ("chronic_pain",) if "chronic pain" in sentence else ()
    claim, s = at(sentence, claim_text, type_, value, context=ctx)
    reading = read_claim(claim, s)
    assert reading.asserted
    assert judge(apply_reading(claim, reading), findings, reading).label == label


def test_reference_list_entries_are_not_claims(findings):
    lines = ["Ketamine does not cure chronic pain.", "References", "- Noppers I, Niesters M, Swartjes M, et al.",
             "Absence of long-term analgesic effect from a short-term S-ketamine infusion on fibromyalgia pain.",
             "Eur J Pain.", "2011;15(9):942-949."]
    sents, pos = [], 0
    for i, t in enumerate(lines):
        sents.append(Sentence(i, pos, pos + len(t), t))
        pos += len(t) + 1
    title = sents[3]
    k = title.text.index("fibromyalgia")
    claim = Claim(type="condition", text="fibromyalgia", start=title.start + k, end=title.start + k + 12, sentence=3,
                  value={"condition": "fibromyalgia"}, context=("fibromyalgia",))
    (reading,) = read_claims([claim], sents)
    assert not reading.asserted
    assert judge(claim, findings, reading).label == "not_assessed"


def test_conditions_named_just_before_can_only_soften(findings):
    """'...his own two courses of ketamine for CRPS. The first reduced his pain for about two months': read with
    CRPS (relief up to 12 weeks is consistent); a sentence before never makes a verdict more severe."""
    two_months = Claim(type="duration", text="for about two months", start=0, end=20, sentence=1,
                       value={"min_days": 60, "max_days": 60, "aspect": "relief"})
    crps = Claim(type="condition", text="CRPS", start=0, end=4, sentence=0, value={"condition": "crps"},
                 context=("crps",))
    sents = [Sentence(0, 0, 40, "Mr Okonjo described his courses for CRPS."),
             Sentence(1, 41, 100, "The first reduced his pain for about two months.")]
    reads = read_claims([crps, two_months], sents)
    assert reads[1].inherited == ("crps",)
    assert judge(two_months, findings, reads[1]).label == "consistent"
    assert judge(two_months, findings).label == "contradicted"  # alone, the pain evidence applies
    session = Claim(type="duration", text="40 minutes", start=0, end=10, sentence=1,
                    value={"min_days": 0.028, "max_days": 0.028, "aspect": "session"})
    reads = read_claims([crps, session], sents)
    assert judge(session, findings, reads[1]).label == "not_assessed"  # not made overstated by CRPS before


# --------------------------------------------------------------------------- end to end, with the real extractor

REPORTING = [
    # evidence reported accurately
    "A 2019 meta-analysis found that relief lasted up to two weeks after the infusions. No trial showed relief "
    "lasting months. The guideline found weak or no evidence for fibromyalgia, migraine or low back pain.",
    # what others claim, questioned
    "Other clinics say relief lasts for months. We have not seen controlled evidence that a few short infusions "
    "give relief for many months, and we would rather you make a decision with realistic expectations.",
    # a question, then an honest answer
    "Can ketamine cure my pain? There is no good evidence that ketamine cures any long-term pain condition, or "
    "that it resets the nerves for good. Claims of permanent relief are not supported by the evidence we reviewed.",
    # results of trials, side-effect rates
    "In refractory neuropathic pain, a single infusion of 0.5 mg/kg did not reduce daily pain over 35 days "
    "compared with placebo. Psychomimetic side effects were reported by 76% of patients on ketamine and 18% on "
    "placebo.",
]


def _analyze_text(resources, text):
    from pipeline.analyze import analyze_bytes
    from pipeline.settings import load_settings

    doc = analyze_bytes(text.encode(), url="file:///t.txt", content_type="text/plain", res=resources,
                        settings=load_settings())
    assert doc.claims, "the extractor found no claims; the test text needs updating"
    return doc


@pytest.mark.parametrize("text", REPORTING)
def test_reporting_the_evidence_is_no_problem(resources, text):
    doc = _analyze_text(resources, text + " " + "This page was written by a pain research centre. " * 3)
    problems = [(c.text, c.verdict.label, doc.sentences[c.sentence].text) for c in doc.claims
                if c.verdict.label in ("overstated", "contradicted", "unsupported")]
    assert problems == []


def test_promoting_the_treatment_is_still_judged(resources):
    doc = _analyze_text(resources, (
        "Ketamine is FDA approved for chronic pain. Most of our patients enjoy relief that lasts for months. "
        "Ketamine is completely non-addictive. Fibromyalgia responds especially well to our infusions. "
        "89% of our patients respond to treatment. Book your consultation today and start feeling better."))
    labels = {c.text: c.verdict.label for c in doc.claims}
    problems = {label for label in labels.values() if label in ("overstated", "contradicted", "unsupported")}
    assert "contradicted" in problems and len([v for v in labels.values() if v == "contradicted"]) >= 3, labels
    for c in doc.claims:
        if c.verdict.label in ("overstated", "contradicted", "unsupported"):
            assert c.verdict.finding and c.verdict.citation and c.verdict.why
