"""The analysis path: archived bytes -> ``Document`` (extract -> claims -> labels -> check -> score).

Pure: the same bytes, URL and resources give the same record. Resources (the spaCy pipeline, the
classifier, the findings) are loaded once by ``load_resources`` and passed in.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlsplit

from . import check, claims, classify, extract, findings, score
from .records import Claim, Document, Extracted, Fetch, Review, Sentence, Skipped
from .settings import Settings

LOGGER = logging.getLogger(__name__)

HTML_TYPES = ("text/html", "application/xhtml+xml")
TEXT_TYPES = ("text/plain",)


@dataclass(frozen=True)
class Resources:
    nlp: object
    model: classify.SentenceModel
    findings: findings.FindingsFile
    findings_version: str


def load_resources(settings: Settings) -> Resources:
    fnd, version = findings.load_findings(settings.findings_path)
    return Resources(
        nlp=claims.build_nlp(str(settings.patterns_path), str(settings.vocabulary_path)),
        model=classify.load_model(settings.model),
        findings=fnd,
        findings_version=version,
    )


def site_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.netloc or (Path(parts.path).parent.name if parts.path else "local")


def _review_claims(res: Resources, reviews: tuple[Review, ...]) -> tuple[Review, ...]:
    if not reviews:
        return ()
    out = []
    for review, doc in zip(reviews, res.nlp.pipe([r.text for r in reviews])):  # type: ignore[attr-defined]
        sents = claims.sentences_from_doc(doc)
        found = claims.claims_from_doc(doc, sents, source="review")
        found = check.judge_all(found, res.findings, check.read_claims(found, sents))
        out.append(replace(review, claims=tuple(found)))
    return tuple(out)


def analyze_extracted(ex: Extracted, *, url: str, final_url: str, sha256: str, fetched_at: str | None,
                      kind: str, res: Resources) -> Document:
    doc = res.nlp(ex.text)  # type: ignore[operator]
    sents = claims.sentences_from_doc(doc)
    labels = res.model.predict([s.text for s in sents])
    sents = [replace(s, label=lab, p_promotional=p) for s, (lab, p) in zip(sents, labels)]
    found = claims.claims_from_doc(doc, sents, source="page")
    # where sentence labels and claims meet: how each sentence presents its claims (asserted, a question,
    # others' claim, a reference title; denied, cited, relayed), then the verdicts
    readings = check.read_claims(found, sents)
    if kind == "reviews":  # a review site's own text is its members' testimony: relayed, not asserted outright
        readings = [replace(r, hedged=True) for r in readings]
    page_claims = check.judge_all(found, res.findings, readings)
    reviews = _review_claims(res, ex.reviews)
    missing = check.omissions(page_claims, res.findings, readings) if kind == "clinic" else []
    facts = score.PageFacts(sentences=sents, claims=page_claims, omissions=missing, n_testimonials=len(reviews),
                            kind=kind, author=ex.author, published=ex.published,
                            readings=tuple(readings))
    return Document(
        url=url, final_url=final_url, fetched_at=fetched_at, sha256=sha256, title=ex.title,
        site=site_of(final_url or url), published=ex.published, author=ex.author, language=ex.language,
        text=ex.text, sentences=tuple(sents), claims=tuple(page_claims), reviews=reviews,
        omissions=tuple(missing), score=score.score_page(facts), model=res.model.model_id,
        findings_version=res.findings_version,
    )


def analyze_bytes(body: bytes, *, url: str, content_type: str, res: Resources, settings: Settings,
                  final_url: str | None = None, fetched_at: str | None = None, kind: str = "clinic",
                  sha256: str | None = None) -> Document | Skipped:
    """Analyse one archived body. Non-HTML, empty or too-short pages come back as ``Skipped``."""
    digest = sha256 or hashlib.sha256(body).hexdigest()
    ctype = (content_type or "").split(";")[0].strip().lower()
    if ctype in TEXT_TYPES:
        text = body.decode("utf-8", errors="replace")
        ex: Extracted | None = Extracted(text=text, title=None, author=None, published=None, language="en")
    elif ctype in HTML_TYPES or not ctype:
        ex = extract.extract(body, url)
    else:
        LOGGER.info("not analysed (%s): %s", ctype, url)
        return Skipped(url, "extract", f"not HTML or text ({ctype})")
    if ex is None:
        return Skipped(url, "extract", "no main text found")
    if len(ex.text.strip()) < settings.min_text_chars and not ex.reviews:
        LOGGER.info("main text too short (%d chars): %s", len(ex.text.strip()), url)
        return Skipped(url, "extract", f"main text shorter than {settings.min_text_chars} characters")
    return analyze_extracted(ex, url=url, final_url=final_url or url, sha256=digest, fetched_at=fetched_at,
                             kind=kind, res=res)


def analyze_fetch(fetch: Fetch, body: bytes, res: Resources, settings: Settings) -> Document | Skipped:
    if fetch.status != 200:
        return Skipped(fetch.url, "fetch", f"HTTP status {fetch.status}")
    return analyze_bytes(body, url=fetch.url, content_type=fetch.content_type, res=res, settings=settings,
                         final_url=fetch.final_url, fetched_at=fetch.fetched_at, kind=fetch.kind, sha256=fetch.sha256)
