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
