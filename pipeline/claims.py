"""Claim stage: a registered spaCy component that finds typed claims, and the conversion to records.

The rules are data (``corpus/patterns/claims.yaml`` for the patterns and cue lists,
``corpus/vocabulary/conditions.yaml`` for conditions and treatment terms). The component
``claimaudit_claims`` writes a span group ``doc.spans["claims"]``; each span carries a typed payload
in ``span._.claim``. ``claims_from_doc`` turns spans into ``Claim`` records at the stage boundary, so
no spaCy object leaks into later stages.

Patterns are regular expressions over the text rather than token Matcher patterns: claims such as
"0.5–2 mg/kg/h over forty minutes" cross tokenizer boundaries in ways token patterns express badly,
and regexes over the whole text are several times faster than the Matcher here. Conditions use
spaCy's PhraseMatcher, which is the right tool for a vocabulary of phrases.

Hedging and negation: negspacy marks negation of entities within a token window, but we also need
hedges with the same clause scope and negation cues inside claim spans ("not FDA approved"), so a
small clause-scoped cue detector is used instead (cue lists are data, in the patterns file).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterable

import spacy
import yaml
from spacy.language import Language
from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc, Span, SpanGroup

from .errors import BadInput
from .numbers import NUMBER_RE, parse_fraction, parse_number
from .records import CLAIM_TYPES, Claim, Sentence

LOGGER = logging.getLogger(__name__)

SPAN_KEY = "claims"
_PATTERN_KEYS = {"id", "type", "regex", "value", "needs"}
_FILE_KEYS = {"macros", "cues", "hedges", "negations", "clause_breaks", "citation", "patterns"}
_UNIT_DAYS = {"minute": 1 / 1440, "min": 1 / 1440, "hour": 1 / 24, "hr": 1 / 24, "day": 1.0, "week": 7.0,
              "month": 30.0, "year": 365.0}
# Vague quantities get bounds (DESIGN.md: "months" -> 60..365, "long-lasting" -> min 30).
_VAGUE_DAYS: dict[str, tuple[float, float | None]] = {
    "days": (2, 14), "days to weeks": (2, 60), "days or weeks": (2, 60), "weeks": (14, 60),
    "several weeks": (21, 60), "a few weeks": (14, 35), "few weeks": (14, 35), "many weeks": (28, 90),
    "weeks to months": (14, 365), "weeks or months": (14, 365), "months": (60, 365), "several months": (90, 365),
    "a few months": (60, 120), "few months": (60, 120), "many months": (120, 365),
    "months to years": (60, 3650), "months or years": (60, 3650), "years": (365, 3650), "several years": (730, 3650),
    "a few years": (730, 1825), "many years": (1095, 3650), "a few days": (2, 5), "several days": (3, 7),
    "few days": (2, 5), "many days": (5, 14),
    "minutes": (0.0, 0.042), "hours": (0.042, 1.0), "a few hours": (0.042, 0.25), "a few minutes": (0.0, 0.01),
    "a few days": (2, 5),
}
_QUALITY_MIN_DAYS = 30.0  # "long-lasting", "sustained", "long-term" relief
_FREQUENCY_BEFORE = re.compile(r"\b(?:once|twice|three\s+times|times|per|every|each)\s+$", re.I)
_ROUTES = (
    ("intranasal", re.compile(r"\bintranasal|\bnasal\s+spray|\bnasal\b", re.I)),
    ("im", re.compile(r"\bintramuscular|\bIM\b")),
    ("sublingual", re.compile(r"\bsublingual", re.I)),
    ("oral", re.compile(r"\boral(?:ly)?\b|\blozenges?\b|\btroches?\b|\btablets?\b|\bcapsules?\b", re.I)),
    ("iv", re.compile(r"\bIV\b|\bintravenous(?:ly)?\b|\binfusions?\b|\bdrip\b|\bi\.v\.", re.I)),
)


# --------------------------------------------------------------------------- rule data


@dataclass(frozen=True, slots=True)
class Pattern:
    id: str
    type: str
    regex: re.Pattern[str]
    value: dict[str, Any]
    needs: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Rules:
    patterns: tuple[Pattern, ...]
    cues: dict[str, re.Pattern[str]]
    hedges: re.Pattern[str]
    negations: re.Pattern[str]
    clause_breaks: re.Pattern[str]
    citation: re.Pattern[str]
    conditions: dict[str, tuple[str, ...]]  # id -> synonyms
    interventions: tuple[str, ...]
    other_treatments: tuple[str, ...]
    not_conditions: tuple[str, ...] = ()
    digest: str = ""


def _phrase_alt(words: Iterable[Any]) -> re.Pattern[str]:
    """One regex for a cue list; word boundaries only where a cue starts or ends with a word character
    (so "n't" matches inside "isn't")."""
    alts = []
    for w in sorted({str(w).strip() for w in words if str(w).strip()}, key=len, reverse=True):
        body = re.escape(w).replace(r"\ ", r"\s+")
        left = r"(?<![\w-])" if re.match(r"\w", w) else ""
        right = r"(?![\w-])" if re.search(r"\w$", w) else ""
        alts.append(left + body + right)
    return re.compile("|".join(alts) or r"(?!x)x", re.I)


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BadInput(f"{path}: file not found") from None
    except yaml.YAMLError as err:
        raise BadInput(f"{path}: not valid YAML ({str(err).splitlines()[0]})") from None


def load_rules(patterns_path: Path, vocabulary_path: Path) -> Rules:
    """Read and validate the patterns and the vocabulary; errors name the file, the entry and the key."""
    import hashlib

    raw = _read_yaml(patterns_path)
    if not isinstance(raw, dict) or "patterns" not in raw:
        raise BadInput(f"{patterns_path}: expected a mapping with a 'patterns' list")
    unknown = set(raw) - _FILE_KEYS
    if unknown:
        raise BadInput(f"{patterns_path}: unknown top-level keys {sorted(unknown)}; expected {sorted(_FILE_KEYS)}")
    macros = {"NUM": NUMBER_RE, **{k: str(v) for k, v in (raw.get("macros") or {}).items()}}

    def expand(text: str) -> str:
        for _ in range(3):  # macros may use other macros
            for name, body in macros.items():
                text = text.replace("{" + name + "}", body)
        return text

    cues = {name: _phrase_alt(words) for name, words in (raw.get("cues") or {}).items()}
    patterns = []
    for n, entry in enumerate(raw["patterns"]):
        where = f"{patterns_path}: pattern {n} ({entry.get('id', '?') if isinstance(entry, dict) else '?'})"
        if not isinstance(entry, dict):
            raise BadInput(f"{where}: expected a mapping")
        bad = set(entry) - _PATTERN_KEYS
        if bad:
            raise BadInput(f"{where}: unknown keys {sorted(bad)}; expected some of {sorted(_PATTERN_KEYS)}")
        if entry.get("type") not in CLAIM_TYPES:
            raise BadInput(f"{where}: type must be one of {', '.join(CLAIM_TYPES)}")
        try:
            regex = re.compile(expand(str(entry["regex"])), re.I)
        except (KeyError, re.error) as err:
            raise BadInput(f"{where}: bad or missing regex ({err})") from None
        needs = tuple(entry.get("needs") or ())
        missing = [c for c in needs if c not in cues]
        if missing:
            raise BadInput(f"{where}: 'needs' names unknown cue sets {missing}")
        patterns.append(Pattern(str(entry["id"]), entry["type"], regex, dict(entry.get("value") or {}), needs))

    vocab = _read_yaml(vocabulary_path)
    if not isinstance(vocab, dict) or not isinstance(vocab.get("conditions"), dict):
        raise BadInput(f"{vocabulary_path}: expected a mapping with a 'conditions' mapping")
    conditions: dict[str, tuple[str, ...]] = {}
    for cid, entry in vocab["conditions"].items():
        syns = (entry or {}).get("synonyms") if isinstance(entry, dict) else None
        if not syns:
            raise BadInput(f"{vocabulary_path}: condition '{cid}': 'synonyms' must be a non-empty list")
        conditions[str(cid)] = tuple(str(s) for s in syns)
    digest = hashlib.sha256(patterns_path.read_bytes() + vocabulary_path.read_bytes()).hexdigest()[:12]
    return Rules(
        patterns=tuple(patterns),
        cues=cues,
        hedges=_phrase_alt(raw.get("hedges") or []),
        negations=_phrase_alt(raw.get("negations") or []),
        clause_breaks=re.compile("|".join(raw.get("clause_breaks") or [r"[;:]"]), re.I),
        citation=re.compile(raw.get("citation") or r"(?!x)x", re.I),
        conditions=conditions,
        interventions=tuple(vocab.get("interventions") or ("ketamine",)),
        other_treatments=tuple(vocab.get("other_treatments") or ()),
        not_conditions=tuple(vocab.get("not_conditions") or ()),
        digest=digest,
    )


# --------------------------------------------------------------------------- normalisers


def _num(text: str | None) -> float | None:
    return parse_number(text) if text else None


def _range(g: dict[str, str | None], a: str = "n1", b: str = "n2") -> tuple[float | None, float | None]:
    lo = _num(g.get(a))
    hi = _num(g.get(b)) if g.get(b) else lo
    if lo is not None and hi is not None and hi < lo:
        lo, hi = hi, lo
    return lo, hi


def _unit_days(unit: str) -> float:
    u = unit.lower().rstrip("s")
    return _UNIT_DAYS.get(u, _UNIT_DAYS.get(u[:3], 1.0))


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 3)


def _approx_bounds(approx: str, lo: float, hi: float) -> tuple[float | None, float | None]:
    a = approx.lower()
    if re.search(r"up\s+to|as\s+long\s+as|as\s+much\s+as|within", a):
        return (None if "within" not in a else 0.0), hi
    if re.search(r"at\s+least|over|more\s+than", a):
        return lo, None
    return lo, hi


def _duration(g: dict[str, Any], sentence: str, rel: int) -> dict[str, Any] | None:
    if g.get("vague"):
        key = re.sub(r"\s+", " ", g["vague"].lower())
        key = re.sub(r"^(?:for|lasting|lasts?|lasted|up to|within) ", "", key)
        if key in _VAGUE_DAYS:
            lo, hi = _VAGUE_DAYS[key]
            if g["vague"].lower().startswith("up to"):
                lo = None
            return {"min_days": lo, "max_days": hi}
        return {"min_days": _QUALITY_MIN_DAYS, "max_days": None}
    n1 = g.get("n1") or ""
    lo = 1.0 if re.fullmatch(r"an?|one|a\s+single|a\s+full", n1.strip(), re.I) else _num(n1)
    hi = _num(g.get("n2")) if g.get("n2") else lo
    if lo is None or hi is None:
        return None
    factor = _unit_days(g["unit"])
    mn, mx = _approx_bounds(g.get("approx") or "", lo * factor, hi * factor)
    return {"min_days": _round(mn), "max_days": _round(mx)}


def _aspect(rules: Rules, sentence: str, rel_start: int, rel_end: int, unit: str | None, lead: str) -> str | None:
    """relief | onset | session | course, from cue words around the duration in its sentence.
    ``lead`` is the approximator the match starts with ("over", "within", "up to")."""
    before = sentence[max(0, rel_start - 60):rel_start].lower() + " " + lead.lower()
    around = sentence[max(0, rel_start - 80):rel_end + 60]
    small = unit is not None and unit.lower().rstrip("s") in ("minute", "min", "hour", "hr")
    if re.search(r"\b(?:over|across|during|spread\s+over|in\s+a\s+period\s+of)\s+(?:a\s+|the\s+|about\s+|around\s+)?(?:\w+\s+)?$", before) \
            and re.search(r"infusions|sessions|treatments|series|course|boosters", around, re.I):
        return "course"
    if small and rules.cues["session"].search(around):
        return "session"
    if rules.cues["onset"].search(before[-40:]) and not re.search(r"\blast", before[-40:]):
        return "onset"
    if rules.cues["relief"].search(around):
        return "relief"
    if small and re.search(r"infusion|session|treatment|appointment", around, re.I):
        return "session"
    if rules.cues["course"].search(around):
        return "course"
    return None


def _dose(g: dict[str, Any], sentence: str, rel: int) -> dict[str, Any] | None:
    lo, hi = _range(g)
    if lo is None:
        return None
    u = re.sub(r"\s+", " ", g["unit"].lower())
    per_kg = "kg" in u or "kilogram" in u
    per_hour = bool(re.search(r"/\s*(?:h|hr|hour)\b|per hour|an hour|every hour|each hour", u))
    after = sentence[rel:rel + len(g.get("_match", "")) + 25].lower()
    if not per_hour and re.search(r"^\S*\s*(?:per|an|/)\s*(?:hour|h\b)", after[len(g.get("_match", "")):]):
        per_hour = True
    unit = ("mg/kg" if per_kg else "mg") + ("/h" if per_hour else "")
    route = None
    for name, rx in _ROUTES:
        if rx.search(sentence):
            route = name
            break
    over = None
    if g.get("over_unit"):
        n = 1.0 if re.fullmatch(r"an?|one", (g.get("over") or "").strip(), re.I) else _num(g.get("over"))
        n2 = _num(g.get("over2")) if g.get("over2") else n
        if n is not None and n2 is not None:
            scale = 1 / 60 if g["over_unit"].lower().startswith("min") else 1.0
            over = _round(max(n, n2) * scale) if g.get("over2") else _round(n * scale)
    return {"low": lo, "high": hi, "unit": unit, "route": route, "over_hours": over}


def _rate(g: dict[str, Any], sentence: str, rel: int) -> dict[str, Any] | None:
    if g.get("pct"):
        p = float(g["pct"])
        return {"percent": p} if 0 < p <= 100 else None
    if g.get("frac"):
        return {"percent": parse_fraction(g["frac"])}
    k, n = _num(g.get("k")), _num(g.get("n"))
    if k is None or not n or k > n:
        return None
    return {"percent": round(100 * k / n, 1)}


def _sessions(g: dict[str, Any], sentence: str, rel: int) -> dict[str, Any] | None:
    n1 = (g.get("n1") or "").strip().lower()
    lo = 1.0 if re.fullmatch(r"a\s+single|one", n1) else _num(n1)
    hi = _num(g.get("n2")) if g.get("n2") else lo
    if lo is None or hi is None or lo > 100:
        return None
    return {"low": int(lo) if lo == int(lo) else lo, "high": int(hi) if hi == int(hi) else hi}


def _money(text: str | None) -> float | None:
    return float(text.replace(",", "")) if text else None


def _price(g: dict[str, Any], sentence: str, rel: int) -> dict[str, Any] | None:
    lo, hi = _money(g.get("a1")), _money(g.get("a2"))
    if lo is None:
        return None
    cur = (g.get("cur") or "$").strip().lower()
    currency = {"£": "GBP", "€": "EUR"}.get(cur, "USD")
    return {"low": lo, "high": hi if hi is not None else lo, "currency": currency}


def _regulatory(g: dict[str, Any], sentence: str, rel: int) -> dict[str, Any] | None:
    target = (g.get("target") or "").lower()
    near = sentence[max(0, rel - 60): rel + len(g.get("_match", "")) + 40].lower()
    if re.search(r"\besketamine\b|\bspravato\b", near):
        assertion = "esketamine_approved"
    elif re.search(r"anest|anaest|sedation|agent", target):
        assertion = "fda_approved_anesthetic"
    elif re.search(r"depress|ptsd|anxiety", target):
        assertion = "fda_approved_for_depression"
    elif target:
        assertion = "fda_approved_for_pain"
    else:  # an unqualified "FDA-approved": read it against the sentence
        s = sentence.lower()
        if re.search(r"anest|anaest", s):
            assertion = "fda_approved_anesthetic"
        elif re.search(r"\bdepress|ptsd|anxiety|mood", s) and not re.search(r"\bpain\b", s):
            assertion = "fda_approved_for_depression"
        else:
            assertion = "fda_approved_for_pain"
    return {"assertion": assertion, "_negated_in_span": bool(g.get("neg"))}


def _static(g: dict[str, Any], sentence: str, rel: int) -> dict[str, Any] | None:
    return {}


NORMALISERS: dict[str, Callable[[dict[str, Any], str, int], dict[str, Any] | None]] = {
    "duration": _duration, "dose": _dose, "efficacy_rate": _rate, "sessions": _sessions, "price": _price,
    "regulatory": _regulatory, "safety": _static, "efficacy": _static,
}


# --------------------------------------------------------------------------- the component


@dataclass(slots=True)
class ClaimPayload:
    """Typed payload stored on each claim span (``span._.claim``)."""

    type: str
    value: dict[str, Any]
    hedged: bool = False
    negated: bool = False
    context: tuple[str, ...] = ()
    cited: bool = False
    other_treatment: bool = False
    pattern: str = ""
    start: int = 0  # exact character offsets of the claim (the span may be token-expanded)
    end: int = 0


if not Span.has_extension("claim"):
    Span.set_extension("claim", default=None)


def _clause_bounds(rules: Rules, sentence: str, rel_start: int, rel_end: int) -> tuple[int, int]:
    lo, hi = 0, len(sentence)
    for m in rules.clause_breaks.finditer(sentence):
        if m.end() <= rel_start:
            lo = m.end()
        elif m.start() >= rel_end:
            hi = min(hi, m.start())
            break
    return lo, hi


class ClaimRecognizer:
    """Finds claims with the rules and writes them to ``doc.spans[span_key]``."""

    def __init__(self, nlp: Language, name: str, rules: Rules, span_key: str = SPAN_KEY):
        self.name = name
        self.rules = rules
        self.span_key = span_key
        self.matcher = PhraseMatcher(nlp.vocab, attr="LOWER")
        self.abbrev_matcher = PhraseMatcher(nlp.vocab, attr="ORTH")
        for cid, syns in rules.conditions.items():
            lower = [s for s in syns if not (s.isupper() and 2 <= len(s.replace("-", "")) <= 5)]
            caps = [s for s in syns if s not in lower]
            if lower:
                self.matcher.add(cid, list(nlp.tokenizer.pipe(lower)))
            if caps:
                self.abbrev_matcher.add(cid, list(nlp.tokenizer.pipe(caps)))
        # phrases that contain a condition synonym but name something else ("respiratory depression")
        self.not_condition_rx = _phrase_alt(rules.not_conditions) if rules.not_conditions else None
        self.intervention_rx = _phrase_alt(rules.interventions)
        self.other_rx = _phrase_alt(rules.other_treatments) if rules.other_treatments else None

    # -- helpers over one sentence
    def _flags(self, sent_text: str, rel_start: int, rel_end: int) -> tuple[bool, bool]:
        lo, hi = _clause_bounds(self.rules, sent_text, rel_start, rel_end)
        clause = sent_text[lo:hi]
        hedged = bool(self.rules.hedges.search(clause))
        window = sent_text[max(lo, rel_start - 30):rel_start]
        window = window[window.rfind(",") + 1:]  # a negation does not reach across a comma
        negated = bool(self.rules.negations.search(window))
        return hedged, negated

    def _about_other(self, sent_text: str) -> bool:
        if self.other_rx is None or not self.other_rx.search(sent_text):
            return False
        return not self.intervention_rx.search(sent_text)

    def __call__(self, doc: Doc) -> Doc:
        rules = self.rules
        spans: list[Span] = []
        sents = list(doc.sents)
        starts = [s.start_char for s in sents]

        def sentence_of(char: int) -> Span:
            import bisect
            return sents[max(0, bisect.bisect_right(starts, char) - 1)]

        # conditions per sentence, from the vocabulary
        cond_matches = sorted(
            {(s, e, doc.vocab.strings[mid]) for mid, s, e in list(self.matcher(doc)) + list(self.abbrev_matcher(doc))},
            key=lambda x: (x[0], -(x[1] - x[0])),
        )
        excluded = [(m.start(), m.end()) for m in self.not_condition_rx.finditer(doc.text)] if self.not_condition_rx else []
        cond_spans: list[Span] = []
        last_end = -1
        for s, e, cid in cond_matches:
            cs, ce = doc[s].idx, doc[e - 1].idx + len(doc[e - 1])
            if any(a <= cs and ce <= b for a, b in excluded):
                continue
            if s >= last_end:
                cond_spans.append(Span(doc, s, e, label=cid))
                last_end = e
        context_by_sent: dict[int, tuple[str, ...]] = {}
        for cs in cond_spans:
            key = cs.sent.start
            ctx = context_by_sent.get(key, ())
            if cs.label_ not in ctx:
                context_by_sent[key] = ctx + (cs.label_,)

        candidates: list[tuple[int, int, ClaimPayload]] = []
        text = doc.text
        for pattern in rules.patterns:
            for m in pattern.regex.finditer(text):
                start, end = m.start(), m.end()
                # trim whitespace the regex may have swallowed
                while start < end and text[start].isspace():
                    start += 1
                while end > start and text[end - 1].isspace():
                    end -= 1
                if end <= start:
                    continue
                sent = sentence_of(start)
                if end > sent.end_char:  # a claim never crosses a sentence boundary
                    continue
                st = sent.text
                rel_start, rel_end = start - sent.start_char, end - sent.start_char
                if pattern.needs and not any(rules.cues[c].search(st) for c in pattern.needs):
                    continue
                groups = {k: v for k, v in m.groupdict().items() if v}
                groups["_match"] = m.group(0)
                if pattern.type == "duration":
                    if not groups.get("vague") and _FREQUENCY_BEFORE.search(st[:rel_start]):
                        continue  # "twice a week" is a frequency, not a duration
                    lead = groups.get("approx") or (m.group(0).split()[0] if groups.get("vague") else "")
                    aspect = _aspect(rules, st, rel_start, rel_end, groups.get("unit"), lead)
                    if aspect is None or (groups.get("vague") and aspect not in ("relief", "onset")):
                        continue
                    if aspect == "course" and groups.get("approx", "").strip().lower() in ("over", "across", "during"):
                        groups.pop("approx")  # "six infusions over two weeks": the course spans two weeks
                    groups["_aspect"] = aspect
                value = NORMALISERS[pattern.type](groups, st, rel_start)
                if value is None:
                    continue
                value = {**value, **pattern.value}
                if pattern.type == "duration":
                    value["aspect"] = groups["_aspect"]
                hedged, negated = self._flags(st, rel_start, rel_end)
                if value.pop("_negated_in_span", False):
                    negated = True
                if pattern.type == "regulatory" and negated and value["assertion"].startswith("fda_approved_for"):
                    # "not FDA approved for pain" asserts off-label use; it is not an approval claim
                    value["assertion"], negated = "off_label", False
                payload = ClaimPayload(
                    type=pattern.type, value=value, hedged=hedged, negated=negated,
                    context=context_by_sent.get(sent.start, ()),
                    cited=bool(rules.citation.search(st)), other_treatment=self._about_other(st), pattern=pattern.id,
                )
                candidates.append((start, end, payload))

        # conditions as claims when the sentence speaks of treating them
        for cs in cond_spans:
            st = cs.sent.text
            if not rules.cues["treatment"].search(st):
                continue
            rel_start = cs.start_char - cs.sent.start_char
            hedged, negated = self._flags(st, rel_start, rel_start + len(cs.text))
            lo, _ = _clause_bounds(rules, st, rel_start, rel_start + len(cs.text))
            if "evidence_denial" in rules.cues and rules.cues["evidence_denial"].search(st[lo:rel_start]):
                negated = True  # "weak or no evidence for CRPS, fibromyalgia or migraine" denies each of them
            candidates.append((cs.start_char, cs.end_char, ClaimPayload(
                type="condition", value={"condition": cs.label_}, hedged=hedged, negated=negated,
                context=context_by_sent.get(cs.sent.start, ()), cited=bool(rules.citation.search(st)),
                other_treatment=self._about_other(st), pattern="vocabulary",
            )))

        for start, end, payload in _resolve_overlaps(candidates, sentence_of):
            span = doc.char_span(start, end, alignment_mode="expand")
            if span is None:
                continue
            payload.start, payload.end = start, end
            span._.claim = payload
            spans.append(span)
        doc.spans[self.span_key] = SpanGroup(doc, name=self.span_key, spans=spans)
        return doc


_ONCE_PER_SENTENCE = frozenset({"regulatory", "safety", "efficacy", "condition"})


def _resolve_overlaps(
    cands: list[tuple[int, int, ClaimPayload]], sentence_of: Callable[[int], Span]
) -> list[tuple[int, int, ClaimPayload]]:
    """Within a claim type keep the longest of overlapping matches (then the earliest pattern); an
    assertion repeated in one sentence ("side effects include nausea and dissociation") is one claim."""
    kept: list[tuple[int, int, ClaimPayload]] = []
    by_type: dict[str, list[tuple[int, int, ClaimPayload]]] = {}
    for c in cands:
        by_type.setdefault(c[2].type, []).append(c)
    for items in by_type.values():
        items.sort(key=lambda c: (-(c[1] - c[0]), c[0]))
        chosen: list[tuple[int, int, ClaimPayload]] = []
        for c in items:
            if all(c[1] <= k[0] or c[0] >= k[1] for k in chosen):
                chosen.append(c)
        kept.extend(chosen)
    kept.sort(key=lambda c: (c[0], c[1], c[2].type))
    # a condition named inside a regulatory claim ("FDA approved for chronic pain") is part of that claim
    regulatory = [(c[0], c[1]) for c in kept if c[2].type == "regulatory"]
    kept = [c for c in kept if not (c[2].type == "condition" and any(s <= c[0] and c[1] <= e for s, e in regulatory))]
    seen: set[tuple[int, str, str]] = set()
    out = []
    for c in kept:
        if c[2].type in _ONCE_PER_SENTENCE:
            key = (sentence_of(c[0]).start, c[2].type, repr(sorted(c[2].value.items())))
            if key in seen:
                continue
            seen.add(key)
        out.append(c)
    return out


@Language.factory(
    "claimaudit_claims",
    default_config={"patterns_path": None, "vocabulary_path": None, "span_key": SPAN_KEY},
)
def make_claims_component(
    nlp: Language, name: str, patterns_path: str | None, vocabulary_path: str | None, span_key: str
) -> ClaimRecognizer:
    from .settings import load_settings

    settings = load_settings()
    rules = load_rules(Path(patterns_path or settings.patterns_path), Path(vocabulary_path or settings.vocabulary_path))
    return ClaimRecognizer(nlp, name, rules, span_key)


@Language.component("newline_sentence_starts")
def newline_sentence_starts(doc: Doc) -> Doc:
    """Line breaks end sentences: headings and list items in extracted page text carry no full stop.
    Runs before the sentencizer, which keeps boundaries already set."""
    for i, tok in enumerate(doc[:-1]):
        if "\n" in tok.text_with_ws and not tok.is_space:
            doc[i + 1].is_sent_start = True
        elif tok.is_space and "\n" in tok.text:
            doc[i + 1].is_sent_start = True
    return doc


@lru_cache(maxsize=4)
def build_nlp(patterns_path: str, vocabulary_path: str) -> Language:
    """A blank English pipeline: newline rules, the rule-based sentencizer and the claim component.
    No statistical components: the claim stage does not use their output (see STACK.md on NER cost)."""
    nlp = spacy.blank("en")
    nlp.max_length = 5_000_000
    nlp.add_pipe("newline_sentence_starts")
    nlp.add_pipe("sentencizer")
    nlp.add_pipe("claimaudit_claims", config={"patterns_path": patterns_path, "vocabulary_path": vocabulary_path})
    return nlp


def sentences_from_doc(doc: Doc) -> list[Sentence]:
    """Sentence records with offsets stripped of surrounding whitespace; empty sentences dropped."""
    out: list[Sentence] = []
    for s in doc.sents:
        start, end = s.start_char, s.end_char
        text = doc.text
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if end > start:
            out.append(Sentence(i=len(out), start=start, end=end, text=text[start:end]))
    return out


def claims_from_doc(doc: Doc, sentences: list[Sentence], source: str = "page", span_key: str = SPAN_KEY) -> list[Claim]:
    """Claim records from the span group; ``sentence`` indexes ``sentences``."""
    import bisect

    starts = [s.start for s in sentences]
    out: list[Claim] = []
    for span in doc.spans.get(span_key, []):
        p: ClaimPayload = span._.claim
        start, end = p.start, p.end
        i = max(0, bisect.bisect_right(starts, start) - 1)
        out.append(Claim(
            type=p.type, text=doc.text[start:end], start=start, end=end, sentence=sentences[i].i if sentences else 0,
            value=dict(p.value), hedged=p.hedged, negated=p.negated, source=source, context=p.context, cited=p.cited,
            other_treatment=p.other_treatment,
        ))
    return out
