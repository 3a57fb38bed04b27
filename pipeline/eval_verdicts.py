"""``claimaudit evaluate verdicts``: the verdicts against the 87 seed claims judged in ``../shared/consensus``.

The seeds are read at run time from ``<project root>/../shared`` (never copied into the repository):
``consensus/<topic>-findings.yaml`` (``seed_claims``: id, file, quote, verdict) and ``seeds/<file>``.
Each seed document goes through the real analysis path (extractor, sentence classifier, checker) as a
plain-text page, so every claim is judged in the context of its sentence and document. A quote's verdict
is aggregated from the claims that overlap it:

- the most severe problem verdict (contradicted > overstated > unsupported) if any claim has one;
- else ``consistent`` if any claim is judged consistent;
- else ``not_assessed`` (the knowledge base's ``not covered``).

Reported: exact agreement, precision and recall of problem verdicts (a quote we flag counts as a true
problem when the seed also calls it overstated, contradicted or unsupported; the strict figure also needs
the same label), a confusion table, the disagreements, and the problem verdicts our own sample sites get
(the accurate ``uplands-pain-research`` and ``harbor-anesthesia`` should get close to none).
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import yaml

from . import analyze
from .errors import BadInput
from .records import PROBLEM_VERDICTS, Claim, Document
from .settings import Settings

LOGGER = logging.getLogger(__name__)

LABELS = ("consistent", "overstated", "contradicted", "unsupported", "not_assessed")
SEVERITY = {"contradicted": 3, "overstated": 2, "unsupported": 1}
SEED_LABEL = {"not covered": "not_assessed"}
#: Targets from the issue: exact agreement and precision of problem verdicts.
TARGETS = {"agreement": 0.80, "problem_precision": 0.90}


@dataclass(frozen=True, slots=True)
class SeedResult:
    id: str
    expected: str
    got: str
    claims: tuple[Claim, ...]
    found: bool  # the quote was located in its document

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "expected": self.expected, "got": self.got, "found": self.found,
                "claims": [{"type": c.type, "text": c.text, "verdict": c.verdict.label if c.verdict else None,
                            "finding": c.verdict.finding if c.verdict else None} for c in self.claims]}


def shared_dir(settings: Settings) -> Path:
    return settings.root.parent / "shared"


def _seed_file(settings: Settings) -> Path:
    return shared_dir(settings) / "consensus" / f"{settings.topic}-findings.yaml"


def load_seeds(settings: Settings) -> list[dict[str, Any]]:
    path = _seed_file(settings)
    if not path.is_file():
        raise BadInput(f"{path}: seed claims not found (evaluate verdicts needs ../shared next to the project)")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise BadInput(f"{path}: not valid YAML ({str(err).splitlines()[0]})") from None
    seeds = (data or {}).get("seed_claims") if isinstance(data, dict) else None
    if not isinstance(seeds, list) or not seeds:
        raise BadInput(f"{path}: no 'seed_claims' list")
    for n, s in enumerate(seeds):
        missing = [k for k in ("id", "file", "quote", "verdict") if not isinstance(s, dict) or k not in s]
        if missing:
            raise BadInput(f"{path}: seed_claims[{n}]: missing {', '.join(missing)}")
    return seeds


# --------------------------------------------------------------------------- locating quotes


def _normalised(text: str) -> tuple[str, list[int]]:
    """The text with every whitespace run collapsed to one space, and each character's original offset."""
    out: list[str] = []
    where: list[int] = []
    prev_space = False
    for i, ch in enumerate(text):
        if ch.isspace():
            if prev_space:
                continue
            out.append(" ")
            prev_space = True
        else:
            out.append(ch)
            prev_space = False
        where.append(i)
    return "".join(out), where


def locate(quote: str, text: str) -> list[tuple[int, int]]:
    """Character spans of the quote in ``text``; a quote with "..." is several parts found in order.
    Empty when a part is missing."""
    norm, where = _normalised(text)
    spans: list[tuple[int, int]] = []
    pos = 0
    for part in (re.sub(r"\s+", " ", p).strip() for p in quote.split("...")):
        if not part:
            continue
        k = norm.find(part, pos)
        if k < 0:
            return []
        spans.append((where[k], where[k + len(part) - 1] + 1))
        pos = k + len(part)
    return spans


def aggregate(claims: Sequence[Claim]) -> str:
    """A quote's verdict: the most severe problem verdict, else consistent, else not_assessed."""
    labels = [c.verdict.label for c in claims if c.verdict is not None]
    problems = [lab for lab in labels if lab in PROBLEM_VERDICTS]
    if problems:
        return max(problems, key=lambda lab: SEVERITY[lab])
    return "consistent" if "consistent" in labels else "not_assessed"


# --------------------------------------------------------------------------- evaluation


def judge_seeds(settings: Settings, res: analyze.Resources | None = None) -> list[SeedResult]:
    seeds = load_seeds(settings)
    res = res or analyze.load_resources(settings)
    folder = shared_dir(settings) / "seeds"
    docs: dict[str, Document] = {}
    out: list[SeedResult] = []
    for s in seeds:
        name = str(s["file"])
        if name not in docs:
            path = folder / name
            if not path.is_file():
                raise BadInput(f"{path}: seed document not found")
            body = path.read_bytes()
            doc = analyze.analyze_bytes(body, url=path.resolve().as_uri(), content_type="text/plain", res=res,
                                        settings=settings)
            if not isinstance(doc, Document):
                raise BadInput(f"{path}: seed document not analysed ({doc.reason})")
            docs[name] = doc
        doc = docs[name]
        spans = locate(str(s["quote"]), doc.text)
        if not spans:
            LOGGER.warning("seed %s: quote not found in %s", s["id"], name)
        hit = tuple(c for c in doc.claims if any(c.start < e and a < c.end for a, e in spans))
        expected = SEED_LABEL.get(str(s["verdict"]), str(s["verdict"]))
        out.append(SeedResult(str(s["id"]), expected, aggregate(hit), hit, bool(spans)))
    return out


def judge_mapping(settings: Settings, findings: Any, expected: dict[str, str]) -> dict[str, Any] | None:
    """The checker alone: agreement when the seed quotes' claims are the hand-annotated ones in
    ``corpus/consensus/seed_claims_mapping.jsonl`` (separates extractor errors from checker errors)."""
    import json

    from . import check

    path = settings.corpus / "consensus" / "seed_claims_mapping.jsonl"
    if not path.is_file():
        return None
    results = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        claims = tuple(
            check.judge_all([Claim(type=c["type"], text="", start=0, end=0, sentence=0, value=dict(c["value"]),
                                   hedged=bool(c.get("hedged")), negated=bool(c.get("negated")),
                                   source=c.get("source", "page"), context=tuple(c.get("context") or ()),
                                   cited=bool(c.get("cited")))], findings)[0]
            for c in row.get("claims", ())
        )
        if row["id"] in expected:
            results.append(SeedResult(row["id"], expected[row["id"]], aggregate(claims), claims, True))
    m = metrics_of(results)
    return {k: m[k] for k in ("n", "agreement", "agree", "problem_flagged", "problem_precision", "problem_recall")}


def site_counts(settings: Settings, res: analyze.Resources, names: Sequence[str] | None = None) -> dict[str, dict[str, Any]]:
    """Problem verdicts on each sample site's own copy (``corpus/sites/<name>``), analysed file by file as
    ``claimaudit analyze`` does, with the kind the demo gives the site."""
    from .sites import _default_kind

    out: dict[str, dict[str, Any]] = {}
    if not settings.sites_dir.is_dir():
        return out
    for site in sorted(p for p in settings.sites_dir.iterdir() if p.is_dir() and (names is None or p.name in names)):
        kind = _default_kind(site.name)
        problems: Counter[str] = Counter()
        scores: list[float] = []
        for f in sorted(site.rglob("*.html")):
            doc = analyze.analyze_bytes(f.read_bytes(), url=f.resolve().as_uri(), content_type="text/html", res=res,
                                        settings=settings, kind=kind)
            if not isinstance(doc, Document):
                continue
            problems.update(c.verdict.label for c in doc.claims if c.verdict and c.verdict.label in PROBLEM_VERDICTS)
            if doc.score is not None:
                scores.append(doc.score.credibility)
        out[site.name] = {"kind": kind, "pages": len(scores), "problem_verdicts": sum(problems.values()),
                          "by_label": dict(sorted(problems.items())),
                          "mean_credibility": round(sum(scores) / len(scores), 1) if scores else None}
    return out


def metrics_of(results: Sequence[SeedResult]) -> dict[str, Any]:
    n = len(results)
    agree = sum(r.expected == r.got for r in results)
    flagged = [r for r in results if r.got in PROBLEM_VERDICTS]
    true_problems = [r for r in results if r.expected in PROBLEM_VERDICTS]
    tp = sum(r.expected in PROBLEM_VERDICTS for r in flagged)
    tp_exact = sum(r.expected == r.got for r in flagged)
    confusion = {e: {g: sum(r.expected == e and r.got == g for r in results) for g in LABELS} for e in LABELS}
    return {
        "n": n,
        "agreement": round(agree / n, 4) if n else 0.0,
        "agree": agree,
        "problem_flagged": len(flagged),
        "problem_precision": round(tp / len(flagged), 4) if flagged else 1.0,
        "problem_precision_exact_label": round(tp_exact / len(flagged), 4) if flagged else 1.0,
        "problem_recall": round(tp / len(true_problems), 4) if true_problems else 1.0,
        "problem_seeds": len(true_problems),
        "confusion_rows_seed_cols_ours": confusion,
        "quotes_not_found": [r.id for r in results if not r.found],
        "disagreements": [r.to_dict() for r in results if r.expected != r.got],
    }


def evaluate(settings: Settings) -> tuple[dict[str, Any], str]:
    """(metrics, text) for ``claimaudit evaluate verdicts``."""
    shared = shared_dir(settings)
    if not shared.is_dir():
        raise BadInput(f"{shared}: not found; evaluate verdicts reads the seed claims from ../shared")
    res = analyze.load_resources(settings)
    results = judge_seeds(settings, res)
    metrics = metrics_of(results)
    metrics["findings_version"] = res.findings_version
    metrics["hand_claims"] = judge_mapping(settings, res.findings, {r.id: r.expected for r in results})
    metrics["targets"] = TARGETS
    metrics["sites"] = site_counts(settings, res)
    return metrics, render(metrics)


def render(m: dict[str, Any]) -> str:
    lines = [
        f"seed claims: {m['n']} (findings version {m.get('findings_version', '?')})",
        f"exact agreement       {m['agreement']:.3f}  ({m['agree']}/{m['n']}; target >= {TARGETS['agreement']:.2f})",
        f"problem precision     {m['problem_precision']:.3f}  (of {m['problem_flagged']} quotes we flag, the seed "
        f"calls a problem; target >= {TARGETS['problem_precision']:.2f}; same label: "
        f"{m['problem_precision_exact_label']:.3f})",
        f"problem recall        {m['problem_recall']:.3f}  (of {m['problem_seeds']} seeds judged a problem)",
        "confusion (rows: seed verdict, columns: ours)",
        "  " + " " * 13 + " ".join(f"{g[:12]:>12}" for g in LABELS),
    ]
    for e in LABELS:
        lines.append(f"  {e:13}" + " ".join(f"{m['confusion_rows_seed_cols_ours'][e][g]:12d}" for g in LABELS))
    hand = m.get("hand_claims")
    if hand:
        lines.append(f"checker alone, on the hand-annotated claims of seed_claims_mapping.jsonl: agreement "
                     f"{hand['agreement']:.3f} ({hand['agree']}/{hand['n']}), problem precision "
                     f"{hand['problem_precision']:.3f}, recall {hand['problem_recall']:.3f}")
    if m["quotes_not_found"]:
        lines.append("quotes not found in their document: " + ", ".join(m["quotes_not_found"]))
    if m["disagreements"]:
        lines.append("disagreements (seed -> ours: claims)")
        for d in m["disagreements"]:
            claims = "; ".join(f"{c['type']} {c['text']!r} {c['verdict']}" for c in d["claims"]) or "no claim"
            lines.append(f"  {d['id']}  {d['expected']} -> {d['got']}: {claims}")
    if m.get("sites"):
        lines.append("problem verdicts on the sample sites (page copy, file by file)")
        for name, s in m["sites"].items():
            detail = ", ".join(f"{k} {v}" for k, v in s["by_label"].items()) or "none"
            lines.append(f"  {name:24} {s['kind']:9} {s['pages']:3d} pages  {s['problem_verdicts']:3d} problems "
                         f"({detail})  mean credibility {s['mean_credibility']}")
    return "\n".join(lines)
