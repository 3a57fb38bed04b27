"""Check stage: judge each claim against the consensus findings; record missing disclosures.

Rules live in the findings file (see ``pipeline.findings``). For a claim, every rule of every finding
whose claim type and ``when`` tests match is a candidate. The highest ``priority`` wins; among equals
the LEAST severe verdict wins, because a false accusation is worse than a miss. Then:
- a hedged claim gets the rule's ``hedged_verdict``, or contradicted is softened to overstated;
- a finding whose certainty is ``unverified`` never yields ``contradicted`` (it yields not_assessed);
- negated claims are judged by what they assert: a rule applies to them only if it says ``negated: true``;
- claims about another treatment, and claims no rule covers, are ``not_assessed``.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any, Iterable, Sequence

from .findings import Finding, FindingsFile, Rule
from .records import Claim, Omission, Verdict

LOGGER = logging.getLogger(__name__)

SEVERITY = {"consistent": 0, "not_assessed": 0, "unsupported": 1, "overstated": 2, "contradicted": 3}
SOFTER = {"contradicted": "overstated"}
PROMOTING_TYPES = frozenset({"condition", "duration", "efficacy", "efficacy_rate"})


def _field(claim: Claim, key: str) -> Any:
    if key in ("negated", "hedged", "source", "cited", "other_treatment"):
        return getattr(claim, key)
    if key == "context":
        return list(claim.context)
    return claim.value.get(key)


def _test(actual: Any, test: Any) -> bool:
    if not isinstance(test, dict):
        return actual == test
    for op, ref in test.items():
        if op == "in" and actual not in ref:
            return False
        if op == "not_in" and actual in ref:
            return False
        if op == "any_in" and not set(actual or ()) & set(ref):
            return False
        if op == "none_in" and set(actual or ()) & set(ref):
            return False
        if op in ("gt", "ge", "lt", "le"):
            if not isinstance(actual, (int, float)) or isinstance(actual, bool):
                return False
            if (op == "gt" and not actual > ref) or (op == "ge" and not actual >= ref) \
                    or (op == "lt" and not actual < ref) or (op == "le" and not actual <= ref):
                return False
    return True


def matches(claim: Claim, claim_type: str, when: dict[str, Any]) -> bool:
    if claim.type != claim_type:
        return False
    if "negated" not in when and claim.negated:
        return False
    return all(_test(_field(claim, k), v) for k, v in when.items())


def judge(claim: Claim, findings: FindingsFile) -> Verdict:
    """The verdict for one claim, with the finding, its short citation and one sentence of why."""
    if claim.other_treatment:
        return Verdict("not_assessed", why="The sentence is about another treatment, not ketamine.")
    candidates: list[tuple[Rule, Finding]] = [
        (rule, f) for f in findings.findings for rule in f.judges if matches(claim, rule.claim, rule.when)
    ]
    if not candidates:
        return Verdict("not_assessed", why="No finding in the consensus base covers this claim.")
    top = max(r.priority for r, _ in candidates)
    best = [(r, f) for r, f in candidates if r.priority == top]
    rule, finding = min(best, key=lambda rf: (SEVERITY[rf[0].verdict], rf[1].id))
    label = rule.verdict
    why = rule.why
    if claim.hedged:
        label = rule.hedged_verdict or SOFTER.get(label, label)
        if label != rule.verdict:
            why = f"{why} (The claim is hedged, so it is judged {label}, not {rule.verdict}.)"
    if label == "contradicted" and finding.certainty == "unverified":
        return Verdict("not_assessed", finding.id, finding.short_citation,
                       f"The finding that would judge this claim is unverified, so no verdict is given. {why}")
    return Verdict(label, finding.id, finding.short_citation, why)


def judge_all(claims: Iterable[Claim], findings: FindingsFile) -> list[Claim]:
    return [replace(c, verdict=judge(c, findings)) for c in claims]


def promotes(claims: Sequence[Claim]) -> bool:
    """A page promotes the treatment when its own copy claims benefit (condition, duration, efficacy,
    success rate) for ketamine, not negated."""
    return any(c.type in PROMOTING_TYPES and c.source == "page" and not c.negated and not c.other_treatment
               for c in claims)


def omissions(claims: Sequence[Claim], findings: FindingsFile) -> list[Omission]:
    """Disclosures a promoting page does not make (side effects, abuse risk, off-label status)."""
    if not promotes(claims):
        return []
    out = []
    page_claims = [c for c in claims if c.source == "page"]
    for d in findings.disclosures:
        if not any(matches(c, t.claim, t.when) for c in page_claims for t in d.satisfied_by):
            f = findings.by_id(d.finding)
            out.append(Omission(d.id, d.label, f.id, f.short_citation, d.why_missing))
    return out
