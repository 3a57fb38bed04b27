"""Typed records passed between stages. Each has ``to_dict``/``from_dict``; ``Document.to_dict``
is the DESIGN.md output record (one JSON object per document)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

ClaimType = Literal[
    "condition", "duration", "dose", "efficacy_rate", "sessions", "price", "regulatory", "safety", "efficacy"
]
CLAIM_TYPES: tuple[str, ...] = (
    "condition", "duration", "dose", "efficacy_rate", "sessions", "price", "regulatory", "safety", "efficacy"
)
VerdictLabel = Literal["consistent", "overstated", "contradicted", "unsupported", "not_assessed"]
VERDICT_LABELS: tuple[str, ...] = ("consistent", "overstated", "contradicted", "unsupported", "not_assessed")
PROBLEM_VERDICTS: frozenset[str] = frozenset({"overstated", "contradicted", "unsupported"})
SentenceLabel = Literal["promotional", "evidential", "neutral"]
SENTENCE_LABELS: tuple[str, ...] = ("promotional", "evidential", "neutral")
SourceKind = Literal["clinic", "reviews", "evidence"]
Scope = Literal["site", "page", "prefix"]


def _from_dict(cls: type, data: dict[str, Any]) -> dict[str, Any]:
    names = {f.name for f in fields(cls)}
    unknown = set(data) - names
    if unknown:
        raise ValueError(f"{cls.__name__}: unknown keys {sorted(unknown)}")
    return {k: v for k, v in data.items() if k in names}


@dataclass(frozen=True, slots=True)
class Source:
    name: str
    url: str
    kind: SourceKind = "clinic"
    max_pages: int = 50
    scope: Scope = "site"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Fetch:
    """One archived HTTP exchange. ``sha256`` is the digest of the body exactly as archived."""

    url: str
    final_url: str
    status: int
    fetched_at: str
    content_type: str
    sha256: str
    length: int
    warc_file: str
    warc_offset: int
    headers: tuple[tuple[str, str], ...] = ()
    source: str = ""
    kind: str = "clinic"

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["headers"] = [list(h) for h in self.headers]
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Fetch":
        d = _from_dict(cls, data)
        d["headers"] = tuple(tuple(h) for h in d.get("headers", ()))
        return cls(**d)


@dataclass(frozen=True, slots=True)
class Skipped:
    """Something that could not be fetched or analysed, with the stage and a reason a person can read."""

    url: str
    stage: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Verdict:
    label: VerdictLabel
    finding: str | None = None
    citation: str | None = None
    why: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Verdict":
        return cls(**_from_dict(cls, data))


@dataclass(frozen=True, slots=True)
class Claim:
    type: ClaimType
    text: str
    start: int
    end: int
    sentence: int
    value: dict[str, Any]
    hedged: bool = False
    negated: bool = False
    source: Literal["page", "review"] = "page"
    context: tuple[str, ...] = ()  # condition ids named in the same sentence
    cited: bool = False            # the sentence cites a study or guideline
    other_treatment: bool = False  # the sentence is about another treatment (opioids, nerve blocks...)
    verdict: Verdict | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["context"] = list(self.context)
        d["verdict"] = self.verdict.to_dict() if self.verdict else None
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Claim":
        d = _from_dict(cls, data)
        d["context"] = tuple(d.get("context", ()))
        if d.get("verdict") is not None:
            d["verdict"] = Verdict.from_dict(d["verdict"])
        return cls(**d)


@dataclass(frozen=True, slots=True)
class Sentence:
    i: int
    start: int
    end: int
    text: str
    label: SentenceLabel = "neutral"
    p_promotional: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Sentence":
        return cls(**_from_dict(cls, data))


@dataclass(frozen=True, slots=True)
class Review:
    author: str | None
    rating: float | None
    date: str | None
    text: str
    origin: Literal["json-ld", "microdata", "html"] = "html"
    claims: tuple[Claim, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["claims"] = [c.to_dict() for c in self.claims]
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Review":
        d = _from_dict(cls, data)
        d["claims"] = tuple(Claim.from_dict(c) for c in d.get("claims", ()))
        return cls(**d)


@dataclass(frozen=True, slots=True)
class Extracted:
    """What the extract stage returns: main text, metadata and reviews, before any NLP."""

    text: str
    title: str | None
    author: str | None
    published: str | None
    language: str | None
    reviews: tuple[Review, ...] = ()
    aggregate_rating: float | None = None


@dataclass(frozen=True, slots=True)
class ScoreComponent:
    name: str
    points: float
    why: str
    sentences: tuple[int, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["sentences"] = list(self.sentences)
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ScoreComponent":
        d = _from_dict(cls, data)
        d["sentences"] = tuple(d.get("sentences", ()))
        return cls(**d)


@dataclass(frozen=True, slots=True)
class Omission:
    """A disclosure the page should make and does not (a side-effect, abuse-risk or off-label statement)."""

    id: str
    label: str
    finding: str
    citation: str
    why: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Omission":
        return cls(**_from_dict(cls, data))


@dataclass(frozen=True, slots=True)
class Score:
    credibility: float
    promotional_share: float
    label: str = "neutral"
    components: tuple[ScoreComponent, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "credibility": self.credibility,
            "promotional_share": self.promotional_share,
            "label": self.label,
            "components": [c.to_dict() for c in self.components],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Score":
        d = _from_dict(cls, data)
        d["components"] = tuple(ScoreComponent.from_dict(c) for c in d.get("components", ()))
        return cls(**d)


@dataclass(frozen=True, slots=True)
class Document:
    """The analysis record of one page (DESIGN.md). Offsets of sentences and claims index ``text``."""

    url: str
    final_url: str
    fetched_at: str | None
    sha256: str
    title: str | None
    site: str
    published: str | None
    author: str | None
    language: str | None
    text: str
    sentences: tuple[Sentence, ...] = ()
    claims: tuple[Claim, ...] = ()
    reviews: tuple[Review, ...] = ()
    omissions: tuple[Omission, ...] = ()
    score: Score | None = None
    model: str | None = None  # classifier id (card digest) that labelled the sentences
    findings_version: str | None = None  # digest of the findings file that judged the claims

    def to_dict(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "final_url": self.final_url,
            "fetched_at": self.fetched_at,
            "sha256": self.sha256,
            "title": self.title,
            "site": self.site,
            "published": self.published,
            "author": self.author,
            "language": self.language,
            "text": self.text,
            "sentences": [s.to_dict() for s in self.sentences],
            "claims": [c.to_dict() for c in self.claims],
            "reviews": [r.to_dict() for r in self.reviews],
            "omissions": [o.to_dict() for o in self.omissions],
            "score": self.score.to_dict() if self.score else None,
            "model": self.model,
            "findings_version": self.findings_version,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Document":
        d = _from_dict(cls, data)
        d["sentences"] = tuple(Sentence.from_dict(s) for s in d.get("sentences", ()))
        d["claims"] = tuple(Claim.from_dict(c) for c in d.get("claims", ()))
        d["reviews"] = tuple(Review.from_dict(r) for r in d.get("reviews", ()))
        d["omissions"] = tuple(Omission.from_dict(o) for o in d.get("omissions", ()))
        if d.get("score") is not None:
            d["score"] = Score.from_dict(d["score"])
        return cls(**d)
