"""Consensus findings: the schema of ``corpus/consensus/<topic>.yaml``, validated on load.

A topic is data: a findings file (statements, numbers, scope, evidence grade, citations, certainty and
the machine-checkable rules that judge claims) plus the condition vocabulary. Validation errors name
the file, the entry and the field.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .errors import BadInput
from .records import CLAIM_TYPES

Certainty = Literal["verified-source-text", "verified-secondary-text", "unverified"]
RuleVerdict = Literal["consistent", "overstated", "contradicted", "unsupported"]

#: Fields a rule's ``when`` may test: claim value fields, claim flags, and sentence context.
VALUE_KEYS = frozenset({"condition", "min_days", "max_days", "aspect", "low", "high", "unit", "route", "over_hours",
                        "percent", "currency", "assertion", "strength"})
FLAG_KEYS = frozenset({"negated", "hedged", "source", "context", "cited", "other_treatment"})
OPERATORS = frozenset({"in", "not_in", "gt", "ge", "lt", "le", "any_in", "none_in"})


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Citation(_Strict):
    reference: str
    doi: str | None = None
    url: str | None = None


class Scope(_Strict):
    conditions: list[str] = Field(default_factory=list)
    route: str = "any"
    dose: str | None = None


class Rule(_Strict):
    claim: str
    when: dict[str, Any] = Field(default_factory=dict)
    verdict: RuleVerdict
    hedged_verdict: RuleVerdict | None = None
    priority: int = 0
    why: str

    @field_validator("claim")
    @classmethod
    def _claim_type(cls, v: str) -> str:
        if v not in CLAIM_TYPES:
            raise ValueError(f"'{v}' is not a claim type ({', '.join(CLAIM_TYPES)})")
        return v

    @field_validator("when")
    @classmethod
    def _when(cls, v: dict[str, Any]) -> dict[str, Any]:
        for key, test in v.items():
            if key not in VALUE_KEYS | FLAG_KEYS:
                raise ValueError(f"unknown key '{key}' (allowed: {', '.join(sorted(VALUE_KEYS | FLAG_KEYS))})")
            if isinstance(test, dict):
                bad = set(test) - OPERATORS
                if bad:
                    raise ValueError(f"'{key}': unknown operators {sorted(bad)} (allowed: {', '.join(sorted(OPERATORS))})")
        return v


class Finding(_Strict):
    id: str
    domain: str | None = None
    statement: str
    numbers: list[str] = Field(default_factory=list)
    scope: Scope = Field(default_factory=Scope)
    evidence_grade: str
    certainty: Certainty
    certainty_note: str | None = None
    citations: list[Citation] = Field(min_length=1)
    short_citation: str
    contradiction_patterns: list[str] = Field(default_factory=list)
    judges: list[Rule] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unverified_never_contradicts(self) -> "Finding":
        if self.certainty == "unverified" and any("contradicted" in (r.verdict, r.hedged_verdict) for r in self.judges):
            raise ValueError("an unverified finding may not carry a 'contradicted' rule")
        return self


class ClaimTest(_Strict):
    claim: str
    when: dict[str, Any] = Field(default_factory=dict)


class Disclosure(_Strict):
    id: str
    label: str
    satisfied_by: list[ClaimTest] = Field(min_length=1)
    finding: str
    why_missing: str


class FindingsFile(_Strict):
    topic: str
    title: str
    derived_from: str | None = None
    findings: list[Finding]
    disclosures: list[Disclosure] = Field(default_factory=list)

    @model_validator(mode="after")
    def _ids(self) -> "FindingsFile":
        ids = [f.id for f in self.findings]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"duplicate finding ids {dupes}")
        missing = [d.finding for d in self.disclosures if d.finding not in ids]
        if missing:
            raise ValueError(f"disclosures name unknown findings {missing}")
        return self

    def by_id(self, fid: str) -> Finding:
        for f in self.findings:
            if f.id == fid:
                return f
        raise KeyError(fid)


def _where(data: Any, loc: tuple[Any, ...]) -> str:
    """'findings[3] (orhurhu2019-meta-duration).judges[0].verdict' from a pydantic error location."""
    parts: list[str] = []
    node = data
    for item in loc:
        if isinstance(item, int):
            label = f"[{item}]"
            try:
                node = node[item]
                if isinstance(node, dict) and "id" in node:
                    label += f" ({node['id']})"
            except (IndexError, KeyError, TypeError):
                node = None
            parts.append(label)
        else:
            parts.append(("." if parts else "") + str(item))
            node = node.get(item) if isinstance(node, dict) else None
    return "".join(parts) or "top level"


def load_findings(path: Path) -> tuple[FindingsFile, str]:
    """The validated findings file and a short digest of its bytes (the findings version)."""
    path = Path(path)
    try:
        raw_bytes = path.read_bytes()
    except FileNotFoundError:
        raise BadInput(f"{path}: findings file not found") from None
    try:
        data = yaml.safe_load(raw_bytes)
    except yaml.YAMLError as err:
        raise BadInput(f"{path}: not valid YAML ({str(err).splitlines()[0]})") from None
    try:
        parsed = FindingsFile.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        raise BadInput(f"{path}: {_where(data, tuple(first['loc']))}: {first['msg']}") from None
    return parsed, hashlib.sha256(raw_bytes).hexdigest()[:12]
