"""``claimaudit evaluate claims``: the claim extractor against the hand-written gold set.

The gold set (``corpus/gold/``, rules in its README) is stand-off: each gold claim names its document, the
document's SHA-256, its source (the page's main text or one of its reviews), its type, the exact span text
and which occurrence of that text it is, its value and its ``hedged``/``negated`` flags. Documents are split
into a development part (read while the rules were written) and a held-out part (written first, never used to
tune rules); both are scored and reported apart, the held-out figures being the honest ones.

Matching: a predicted claim matches a gold claim of the same document part, the same type and an overlapping
character span; each claim matches at most once (largest overlap first). Precision, recall and F1 count
matches; value accuracy, ``hedged`` and ``negated`` accuracy are measured on matched pairs only. Predicted claims
flagged ``other_treatment`` (about opioids, nerve blocks...) are not ketamine claims and are left out, as the gold
set leaves them out.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from .errors import BadInput
from .records import CLAIM_TYPES, Claim
from .settings import PROJECT_ROOT, Settings

LOGGER = logging.getLogger(__name__)

SPLITS = ("dev", "heldout")
_GOLD_KEYS = {"doc", "sha256", "split", "source", "review", "type", "text", "occurrence", "value", "hedged", "negated"}
_DOC_KEYS = {"doc", "sha256", "split"}
_URL = "http://gold.claimaudit.example/"


def shared_dir() -> Path:
    """``../shared`` next to the project (seeds live there); may be missing on a fresh clone elsewhere."""
    return PROJECT_ROOT.parent / "shared"


@dataclass
class Unit:
    """One part of a document that claims point into: the main text or one review."""

    key: str  # "page" or "review:<n>"
    text: str
    predicted: list[Claim] = field(default_factory=list)


@dataclass
class GoldClaim:
    doc: str
    split: str
    unit: str
    type: str
    start: int
    end: int
    text: str
    value: dict[str, Any]
    hedged: bool
    negated: bool


def _read_jsonl(path: Path, keys: set[str]) -> list[dict[str, Any]]:
    rows = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise BadInput(f"{path}: file not found") from None
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as err:
            raise BadInput(f"{path}:{n}: not valid JSON ({err})") from None
        unknown = set(row) - keys
        if unknown:
            raise BadInput(f"{path}:{n}: unknown keys {sorted(unknown)}")
        rows.append(row)
    return rows


def _dedupe_reviews(texts: Iterable[str]) -> list[str]:
    """One text per review: a review shown twice (structured data and a visible card with a byline) is kept once."""
    def norm(t: str) -> str:
        return re.sub(r"\W+", " ", t.lower()).strip()

    kept: list[str] = []
    for t in texts:
        n = norm(t)
        if any(norm(k) in n or n in norm(k) for k in kept):
            continue
        kept.append(t)
    return kept


def _load_units(doc: str, shared: Path, root: Path) -> list[Unit] | None:
    from . import extract

    if doc.startswith("seeds/"):
        path = shared / doc
        if not path.is_file():
            return None
        return [Unit("page", path.read_text(encoding="utf-8"))]
    ex = extract.extract((root / doc).read_bytes(), _URL + doc)
    if ex is None:
        return [Unit("page", "")]
    units = [Unit("page", ex.text)]
    units += [Unit(f"review:{i}", t) for i, t in enumerate(_dedupe_reviews(r.text for r in ex.reviews))]
    return units


def _doc_path(doc: str, shared: Path, root: Path) -> Path:
    return shared / doc if doc.startswith("seeds/") else root / doc


def _resolve(row: dict[str, Any], units: list[Unit]) -> tuple[Unit, int, int] | str:
    """The unit and offsets of a gold claim, or why it cannot be found."""
    if row.get("source", "page") == "page":
        candidates = [u for u in units if u.key == "page"]
    else:
        anchor = row.get("review") or ""
        candidates = [u for u in units if u.key.startswith("review:") and anchor in u.text][:1]
        if not candidates:
            return f"no review contains {anchor!r}"
    unit = candidates[0]
    text, k = row["text"], int(row.get("occurrence", 0))
    pos, start = -1, -1
    for _ in range(k + 1):
        pos = unit.text.find(text, pos + 1)
        if pos < 0:
            return f"occurrence {k} of {text!r} not found"
        start = pos
    return unit, start, start + len(text)


def _values_equal(gold: Any, pred: Any) -> bool:
    if gold is None or pred is None:
        return gold is None and pred is None
    if isinstance(gold, (int, float)) and isinstance(pred, (int, float)):
        return abs(gold - pred) <= max(0.002, 0.03 * abs(gold))
    return bool(gold == pred)


def value_correct(gold: dict[str, Any], pred: dict[str, Any]) -> bool:
    """Every key of the gold value has the predicted value (numbers within 3%, days within 0.002)."""
    return all(_values_equal(v, pred.get(k)) for k, v in gold.items())


def _match(gold: list[GoldClaim], pred: list[Claim]) -> list[tuple[int, int]]:
    """One-to-one matches (gold index, predicted index) of the same type with overlapping spans."""
    pairs = []
    for gi, g in enumerate(gold):
        for pi, p in enumerate(pred):
            if p.type == g.type and p.start < g.end and g.start < p.end:
                pairs.append((min(p.end, g.end) - max(p.start, g.start), gi, pi))
    pairs.sort(key=lambda x: (-x[0], x[1], x[2]))
    used_g: set[int] = set()
    used_p: set[int] = set()
    out = []
    for _, gi, pi in pairs:
        if gi not in used_g and pi not in used_p:
            used_g.add(gi)
            used_p.add(pi)
            out.append((gi, pi))
    return out


def _empty_counts() -> dict[str, dict[str, int]]:
    return {t: {"tp": 0, "fp": 0, "fn": 0, "value_ok": 0, "hedged_ok": 0, "negated_ok": 0} for t in CLAIM_TYPES}


def _prf(tp: int, fp: int, fn: int) -> dict[str, float]:
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    return {"precision": round(p, 3), "recall": round(r, 3), "f1": round(2 * p * r / (p + r), 3) if p + r else 0.0}


def _summary(counts: dict[str, dict[str, int]]) -> dict[str, Any]:
    per_type = {}
    for t, c in counts.items():
        per_type[t] = {**_prf(c["tp"], c["fp"], c["fn"]), "gold": c["tp"] + c["fn"], "predicted": c["tp"] + c["fp"],
                       "matched": c["tp"],
                       "value_accuracy": round(c["value_ok"] / c["tp"], 3) if c["tp"] else None}
    tp = sum(c["tp"] for c in counts.values())
    fp = sum(c["fp"] for c in counts.values())
    fn = sum(c["fn"] for c in counts.values())
    micro = {**_prf(tp, fp, fn), "gold": tp + fn, "predicted": tp + fp, "matched": tp}
    for k in ("value", "hedged", "negated"):
        ok = sum(c[f"{k}_ok"] for c in counts.values())
        micro[f"{k}_accuracy"] = round(ok / tp, 3) if tp else None
    return {"micro": micro, "per_type": per_type}


def evaluate_claims(settings: Settings, *, with_errors: bool = False) -> tuple[dict[str, Any], str]:
    """(metrics, text for people). ``with_errors`` adds every false positive and false negative to the metrics."""
    from . import claims as claim_stage

    gold_dir = settings.corpus / "gold"
    documents = _read_jsonl(gold_dir / "documents.jsonl", _DOC_KEYS)
    rows = _read_jsonl(gold_dir / "claims.jsonl", _GOLD_KEYS)
    shared, root = shared_dir(), settings.root
    nlp = claim_stage.build_nlp(str(settings.patterns_path), str(settings.vocabulary_path))

    notes: list[str] = []
    if not (shared / "seeds").is_dir():
        notes.append(f"{shared / 'seeds'} not found: the seed documents are skipped; only the sample-site gold is scored")
    counts = {s: _empty_counts() for s in SPLITS}
    n_docs = {s: 0 for s in SPLITS}
    errors: dict[str, list[dict[str, Any]]] = {s: [] for s in SPLITS}
    by_doc: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        if row.get("type") not in CLAIM_TYPES:
            raise BadInput(f"{gold_dir / 'claims.jsonl'}: unknown claim type {row.get('type')!r} ({row.get('doc')})")
        by_doc.setdefault(row["doc"], []).append(row)
    known = {d["doc"] for d in documents}
    for doc in sorted(set(by_doc) - known):
        notes.append(f"gold claims for {doc}, which documents.jsonl does not list: ignored")

    for d in documents:
        doc, split = d["doc"], d["split"]
        if split not in SPLITS:
            raise BadInput(f"{gold_dir / 'documents.jsonl'}: {doc}: split must be one of {', '.join(SPLITS)}")
        path = _doc_path(doc, shared, root)
        if not path.is_file():
            if not doc.startswith("seeds/") or (shared / "seeds").is_dir():
                notes.append(f"{doc}: file not found, skipped")
            continue
        if hashlib.sha256(path.read_bytes()).hexdigest() != d["sha256"]:
            notes.append(f"{doc}: the file changed since it was annotated (sha256 differs), skipped")
            continue
        units = _load_units(doc, shared, root)
        if units is None:
            continue
        n_docs[split] += 1
        for unit in units:
            sdoc = nlp(unit.text)
            source = "page" if unit.key == "page" else "review"
            found = claim_stage.claims_from_doc(sdoc, claim_stage.sentences_from_doc(sdoc), source=source)
            # a claim flagged as about another treatment (opioids, nerve blocks) is not a ketamine claim
            unit.predicted = [c for c in found if not c.other_treatment]
        gold_by_unit: dict[str, list[GoldClaim]] = {u.key: [] for u in units}
        for row in by_doc.get(doc, []):
            found = _resolve(row, units)
            if isinstance(found, str):
                notes.append(f"{doc}: gold {row['type']} {row['text']!r} unresolved ({found})")
                counts[split][row["type"]]["fn"] += 1
                continue
            unit, start, end = found
            gold_by_unit[unit.key].append(GoldClaim(doc, split, unit.key, row["type"], start, end, row["text"],
                                                    row["value"], bool(row.get("hedged")), bool(row.get("negated"))))
        for unit in units:
            gold, pred = gold_by_unit[unit.key], unit.predicted
            pairs = _match(gold, pred)
            c = counts[split]
            for gi, pi in pairs:
                g, p = gold[gi], pred[pi]
                c[g.type]["tp"] += 1
                c[g.type]["value_ok"] += value_correct(g.value, p.value)
                c[g.type]["hedged_ok"] += g.hedged == p.hedged
                c[g.type]["negated_ok"] += g.negated == p.negated
                if with_errors and not (value_correct(g.value, p.value) and g.hedged == p.hedged
                                        and g.negated == p.negated):
                    errors[split].append({"kind": "value", "doc": doc, "unit": unit.key, "type": g.type,
                                          "text": p.text, "gold": {**g.value, "hedged": g.hedged,
                                                                   "negated": g.negated},
                                          "predicted": {**p.value, "hedged": p.hedged, "negated": p.negated}})
            matched_g = {gi for gi, _ in pairs}
            matched_p = {pi for _, pi in pairs}
            for gi, g in enumerate(gold):
                if gi not in matched_g:
                    c[g.type]["fn"] += 1
                    if with_errors:
                        errors[split].append({"kind": "fn", "doc": doc, "unit": unit.key, "type": g.type,
                                              "text": g.text, "context": _context(unit.text, g.start, g.end),
                                              "gold": g.value})
            for pi, p in enumerate(pred):
                if pi not in matched_p:
                    c[p.type]["fp"] += 1
                    if with_errors:
                        errors[split].append({"kind": "fp", "doc": doc, "unit": unit.key, "type": p.type,
                                              "text": p.text, "context": _context(unit.text, p.start, p.end),
                                              "predicted": p.value})

    metrics: dict[str, Any] = {"notes": notes, "documents": n_docs}
    for s in SPLITS:
        metrics[s] = _summary(counts[s])
    if with_errors:
        metrics["errors"] = errors
    return metrics, _text(metrics)


def _context(text: str, start: int, end: int, width: int = 60) -> str:
    return (text[max(0, start - width):start] + "[" + text[start:end] + "]" + text[end:end + width]).replace("\n", " ")


def _fmt(x: float | None) -> str:
    return "     -" if x is None else f"{x:6.3f}"


def _text(metrics: dict[str, Any]) -> str:
    lines = []
    for s, title in (("dev", "development part (read while writing the rules)"),
                     ("heldout", "held-out part (never used to tune the rules: the honest figures)")):
        m = metrics[s]
        mi = m["micro"]
        lines.append(f"{title}: {metrics['documents'][s]} documents, {mi['gold']} gold claims, "
                     f"{mi['predicted']} predicted")
        lines.append(f"  {'type':14} {'precision':>9} {'recall':>7} {'f1':>6} {'gold':>5} {'pred':>5} {'value acc':>9}")
        for t, r in m["per_type"].items():
            lines.append(f"  {t:14} {r['precision']:9.3f} {r['recall']:7.3f} {r['f1']:6.3f} {r['gold']:5d} "
                         f"{r['predicted']:5d} {_fmt(r['value_accuracy']):>9}")
        lines.append(f"  {'micro':14} {mi['precision']:9.3f} {mi['recall']:7.3f} {mi['f1']:6.3f} {mi['gold']:5d} "
                     f"{mi['predicted']:5d} {_fmt(mi['value_accuracy']):>9}")
        lines.append(f"  on matched claims: value accuracy {_fmt(mi['value_accuracy']).strip()}, "
                     f"hedged accuracy {_fmt(mi['hedged_accuracy']).strip()}, "
                     f"negated accuracy {_fmt(mi['negated_accuracy']).strip()}")
        lines.append("")
    lines.append("matching: same document part and type, overlapping spans, one-to-one; "
                 "value/flag accuracy on matched claims")
    lines += [f"note: {n}" for n in metrics["notes"]]
    return "\n".join(lines)
