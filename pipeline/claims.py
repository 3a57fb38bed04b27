"""Claim stage: a registered spaCy component that finds typed claims, and the conversion to records.

The rules are data (``corpus/patterns/claims.yaml`` for the patterns, cue lists and vague-duration bounds,
``corpus/vocabulary/conditions.yaml`` for conditions and treatment terms). The component ``claimaudit_claims``
writes a span group ``doc.spans["claims"]``; each span carries a typed payload in ``span._.claim``.
``claims_from_doc`` turns spans into ``Claim`` records at the stage boundary, so no spaCy object leaks into
later stages. Every condition mention, claim or not, is also written to ``doc.spans["conditions"]``.

Patterns are regular expressions over the text rather than token Matcher patterns: claims such as
"0.5–2 mg/kg/h over forty minutes" cross tokenizer boundaries in ways token patterns express badly. Each
pattern names anchor words (a unit, "mg", "%"), found with ``str.find``; the regex only runs in small windows
around them, which keeps the stage above 100,000 words per second on one core. Conditions are vocabulary
phrases found on whole words (all-caps abbreviations case-sensitively), the longest of overlapping names winning.

Scope. Hedges, negations and the words that link a condition to the treatment are looked for in the claim's
clause (the sentence cut at ";", ":", "but", "although", dashes...). Negation is a cue a few words before the
claim, evidence denial before it in its clause ("weak or no evidence for X"), or a refutation after it
('"non-addictive" ... is not consistent with the evidence'). negspacy marks negation of entities within a token
window, but we also need hedges with the same clause scope and negation inside claim spans ("not FDA
approved"), so a small clause-scoped cue detector is used instead (cue lists are data, in the patterns file).

Sentences that assert nothing make no claims: yes/no questions ("Is ketamine FDA approved?"), citations and
the lines of a reference list. Claims about another treatment are kept but flagged ``other_treatment``.

Speed. The pipeline is a blank English pipeline with a regex tokenizer (``FastTokenizer``, about six times
faster than spaCy's) and rule-based sentence boundaries (``claimaudit_sentences``); the claim stage reads text,
not tokens, and no statistical component runs (see STACK.md on the cost of NER).
"""

from __future__ import annotations

import bisect
import hashlib
import logging
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np
import spacy
import yaml
from spacy.attrs import IDX, SENT_START
from spacy.language import Language
from spacy.tokens import Doc, Span, SpanGroup

from .errors import BadInput
from .numbers import NUMBER_RE, ORDINAL_RE, parse_fraction, parse_number, parse_ordinal, trie_regex
from .records import CLAIM_TYPES, Claim, Sentence

LOGGER = logging.getLogger(__name__)

SPAN_KEY = "claims"
CONDITIONS_KEY = "conditions"  # span group of every condition mention, labelled with its id
_PATTERN_KEYS = {"id", "type", "regex", "value", "needs", "unless", "unless_before", "unless_after", "span",
                 "absorbs_negation", "hedged", "anchor", "anchor_window"}
_FILE_KEYS = {
    "macros", "cues", "hedges", "hedge_exceptions", "citation_keywords", "negations", "post_negations", "clause_breaks", "citation",
    "reference_line", "reference_sentence", "reference_heading", "yes_no_question", "condition_list_opener", "condition_block_before",
    "condition_link_after", "other_generic", "duration_veto_before", "duration_followup_before", "vague_days",
    "patterns",
}
_REQUIRED_CUES = ("relief", "onset", "session", "course", "duration_veto", "condition_link", "evidence_denial")
_UNIT_DAYS = {"minute": 1 / 1440, "min": 1 / 1440, "hour": 1 / 24, "hr": 1 / 24, "day": 1.0, "week": 7.0,
              "month": 30.0, "year": 365.0}
_SMALL_UNITS = ("minute", "min", "hour", "hr")
_FREQUENCY_BEFORE = re.compile(r"\b(?:once|twice|three\s+times|times|per|every|each)\s+(?:\w+\s+(?:to|or)\s+)?(?:a\s+)?$",
                               re.I)
_SUBJECTS = frozenset("it this that these those they there the a an you we he she i its our your their ketamine".split())
_ROUTES = (
    ("intranasal", re.compile(r"\bintranasal|\bnasal\s+spray|\bnasal\b", re.I)),
    ("im", re.compile(r"\bintramuscular|\bIM\b")),
    ("sublingual", re.compile(r"\bsublingual", re.I)),
    ("oral", re.compile(r"\boral(?:ly)?\b|\blozenges?\b|\btroches?\b|\btablets?\b|\bcapsules?\b", re.I)),
    ("iv", re.compile(r"\bIV\b|\bintravenous(?:ly)?\b|\binfusions?\b|\bdrip\b|\bi\.v\.|\bbolus\b", re.I)),
)
_TERM_SPLIT = re.compile(r"\s*,?\s*\b(?:to|or(?:\s+even)?|and)\b\s*", re.I)
_TERM = re.compile(
    r"^the\s+first\s+(?P<first>)(?P<unit0>minutes?|mins?|hours?|hrs?|days?|weeks?|months?|years?)$"
    r"|^(?:the\s+first\s+)?(?P<q>.+?)[\s-]+(?:consecutive\s+)?(?P<unit>minutes?|mins?|hours?|hrs?|days?|weeks?|months?|years?)$"
    r"|^(?P<bare>minutes|hours|days|weeks|months|years)$", re.I)
_RANGE = re.compile(r"^(?P<n1>.+?)\s*-?\s*(?:\bto\b|-|–|—|\bor\b|\band\b)\s*(?P<n2>.+?)[\s-]*(?P<unit>minutes?|mins?|hours?|hrs?|days?|"
                    r"weeks?|months?|years?)$", re.I)
_COMPOUND_AFTER = re.compile(r"^\s*,?\s*(?:[\w-]+\s+){0,2}?(?P<noun>infusions?|sessions?|boosters?|drips?|treatments?|trials?|"
                             r"program|programme|protocol|intensive|induction|regimen|course|series)\b", re.I)
_SINGLE_INFUSION_BEFORE = re.compile(r"\binfusion\s+(?:lasting|over|of|for|running)\s+(?:[\w-]+\s+){0,2}$", re.I)


# --------------------------------------------------------------------------- rule data


@dataclass(frozen=True, slots=True)
class Pattern:
    id: str
    type: str
    regex: re.Pattern[str]
    value: dict[str, Any]
    needs: tuple[str, ...] = ()
    unless: tuple[str, ...] = ()
    unless_before: re.Pattern[str] | None = None
    unless_after: re.Pattern[str] | None = None
    span: str | None = None
    absorbs_negation: bool = False  # the pattern's own words carry the negation ("no evidence for addiction")
    hedged: bool = False  # the pattern's own words hedge the claim ("serious harm is rare")
    anchor: tuple[str, ...] = ()  # lowercase words one of which every match contains; the regex runs around them
    window: tuple[int, int] = (110, 110)


@dataclass(frozen=True, slots=True)
class Rules:
    patterns: tuple[Pattern, ...]
    cues: dict[str, CueSet]
    hedges: CueSet
    hedge_exceptions: tuple[tuple[str, str, int], ...]  # (word 1, word 2, index of the hedge word)
    citation_keywords: tuple[str, ...]
    negations: CueSet
    post_negations: CueSet
    clause_breaks: re.Pattern[str]
    citation: re.Pattern[str]
    reference_line: re.Pattern[str]
    reference_sentence: re.Pattern[str]
    reference_heading: re.Pattern[str]
    yes_no_question: re.Pattern[str]
    list_opener: re.Pattern[str]
    block_before: re.Pattern[str]
    link_after: re.Pattern[str]
    duration_veto_before: re.Pattern[str]
    followup_before: re.Pattern[str]
    vague_days: dict[str, tuple[float | None, float | None]]
    conditions: dict[str, tuple[str, ...]]  # id -> synonyms
    interventions: tuple[str, ...]
    other_treatments: tuple[str, ...]
    not_conditions: tuple[str, ...] = ()
    digest: str = ""


# word tokens for cue matching: letters, digits and hyphens; a contraction stays one token ("isn't")
_TOKEN = re.compile(r"[\w-]+(?:'t\b)?")


def _tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.lower().replace("’", "'"))


class CueSet:
    """A cue list ("relief", "wore off", "n't"), matched case-insensitively on whole words: a set lookup on
    word tokens, several times faster than one regex alternation of the phrases. A cue that starts with an
    apostrophe ("n't") matches the end of a token."""

    __slots__ = ("singles", "multis", "suffixes")

    def __init__(self, words: Iterable[Any]):
        self.singles: set[str] = set()
        self.multis: list[str] = []
        self.suffixes: tuple[str, ...] = ()
        suffixes = []
        for w in {str(w).strip().lower().replace("’", "'") for w in words if str(w).strip()}:
            if not re.match(r"\w", w):
                suffixes.append(w)
                continue
            toks = _tokens(w)
            if len(toks) == 1:
                self.singles.add(toks[0])
            elif toks:
                self.multis.append(" " + " ".join(toks) + " ")
        self.suffixes = tuple(suffixes)

    def found_in(self, toks: list[str]) -> list[str]:
        """The cues that occur in a list of tokens."""
        out = [t for t in self.singles.intersection(toks)]
        if self.multis:
            joined = " " + " ".join(toks) + " "
            out += [m.strip() for m in self.multis if m in joined]
        if self.suffixes:
            out += [t for t in toks if t.endswith(self.suffixes)]
        return out

    def search_in(self, toks: list[str]) -> bool:
        if not self.singles.isdisjoint(toks):
            return True
        if self.multis:
            joined = " " + " ".join(toks) + " "
            for m in self.multis:
                if m in joined:
                    return True
        return bool(self.suffixes) and any(t.endswith(self.suffixes) for t in toks)

    def search(self, text: str) -> bool:
        return self.search_in(_tokens(text))


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BadInput(f"{path}: file not found") from None
    except yaml.YAMLError as err:
        raise BadInput(f"{path}: not valid YAML ({str(err).splitlines()[0]})") from None


def _compile(where: str, text: Any, flags: int = re.I) -> re.Pattern[str]:
    try:
        return re.compile(str(text), flags)
    except re.error as err:
        raise BadInput(f"{where}: bad regex ({err})") from None


def _anchor(where: str, raw: Any) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(a, str) and a.strip() for a in raw):
        raise BadInput(f"{where}: 'anchor' must be a list of words")
    return tuple(a.lower() for a in raw)


def _window(where: str, raw: Any) -> tuple[int, int]:
    if raw is None:
        return (110, 110)
    if not (isinstance(raw, list) and len(raw) == 2 and all(isinstance(x, int) and x >= 0 for x in raw)):
        raise BadInput(f"{where}: 'anchor_window' must be [characters before, characters after]")
    return (raw[0], raw[1])


def _hedge_exceptions(phrases: list[Any], hedges: list[Any]) -> tuple[tuple[str, str, int], ...]:
    words = {str(h).lower() for h in hedges}
    out = []
    for phrase in phrases:
        toks = _tokens(str(phrase))
        if len(toks) != 2 or not (toks[0] in words or toks[1] in words):
            raise BadInput(f"hedge_exceptions: {phrase!r} must be two words, one of them a hedge")
        out.append((toks[0], toks[1], 1 if toks[1] in words else 0))
    return tuple(out)


def load_rules(patterns_path: Path, vocabulary_path: Path) -> Rules:
    """Read and validate the patterns and the vocabulary; errors name the file, the entry and the key."""
    raw = _read_yaml(patterns_path)
    if not isinstance(raw, dict) or "patterns" not in raw:
        raise BadInput(f"{patterns_path}: expected a mapping with a 'patterns' list")
    unknown = set(raw) - _FILE_KEYS
    if unknown:
        raise BadInput(f"{patterns_path}: unknown top-level keys {sorted(unknown)}; expected {sorted(_FILE_KEYS)}")
    macros = {"NUM": NUMBER_RE, "ORD": ORDINAL_RE}
    for k, v in (raw.get("macros") or {}).items():
        macros[k] = trie_regex([str(x) for x in v]) if isinstance(v, list) else str(v)

    def expand(text: str) -> str:
        for _ in range(4):  # macros may use other macros
            for name, body in macros.items():
                text = text.replace("{" + name + "}", body)
        return text

    cues = {name: CueSet(words) for name, words in (raw.get("cues") or {}).items()}
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
        unless = tuple(entry.get("unless") or ())
        missing = [c for c in needs + unless if c not in cues]
        if missing:
            raise BadInput(f"{where}: 'needs'/'unless' name unknown cue sets {missing}")
        span = entry.get("span")
        if span is not None and not any(g.startswith(str(span)) for g in regex.groupindex):
            raise BadInput(f"{where}: 'span' names no group of the regex")
        patterns.append(Pattern(
            str(entry["id"]), entry["type"], regex, dict(entry.get("value") or {}), needs, unless,
            _compile(f"{where}: unless_before", expand(entry["unless_before"]) + r"(?:\s*)$")
            if entry.get("unless_before") else None,
            _compile(f"{where}: unless_after", expand(entry["unless_after"])) if entry.get("unless_after") else None,
            str(span) if span is not None else None,
            bool(entry.get("absorbs_negation", False)),
            bool(entry.get("hedged", False)),
            _anchor(where, entry.get("anchor")),
            _window(where, entry.get("anchor_window")),
        ))

    missing_cues = [c for c in _REQUIRED_CUES if c not in cues]
    if missing_cues:
        raise BadInput(f"{patterns_path}: cue sets {missing_cues} are required")
    vague: dict[str, tuple[float | None, float | None]] = {}
    for key, bounds in (raw.get("vague_days") or {}).items():
        if not (isinstance(bounds, list) and len(bounds) == 2):
            raise BadInput(f"{patterns_path}: vague_days.{key}: expected [min, max]")
        vague[str(key)] = (None if bounds[0] is None else float(bounds[0]), None if bounds[1] is None else float(bounds[1]))
    for key in ("long", "short", "days", "weeks", "months", "years", "hours", "minutes"):
        if key not in vague:
            raise BadInput(f"{patterns_path}: vague_days.{key} is required")

    def rx(key: str, default: str = r"(?!x)x", flags: int = re.I) -> re.Pattern[str]:
        return _compile(f"{patterns_path}: {key}", expand(str(raw.get(key) or default)), flags)

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
        hedges=CueSet(raw.get("hedges") or []),
        hedge_exceptions=_hedge_exceptions(raw.get("hedge_exceptions") or [], raw.get("hedges") or []),
        citation_keywords=tuple(str(k).lower() for k in raw.get("citation_keywords") or ()),
        negations=CueSet(raw.get("negations") or []),
        post_negations=CueSet(raw.get("post_negations") or []),
        clause_breaks=re.compile("|".join(raw.get("clause_breaks") or [r"[;:]"]), re.I),
        citation=rx("citation"),
        reference_line=rx("reference_line", flags=0),
        reference_sentence=rx("reference_sentence"),
        reference_heading=rx("reference_heading"),
        yes_no_question=rx("yes_no_question"),
        list_opener=rx("condition_list_opener"),
        block_before=rx("condition_block_before"),
        link_after=rx("condition_link_after"),
        duration_veto_before=rx("duration_veto_before"),
        followup_before=rx("duration_followup_before"),
        vague_days=vague,
        conditions=conditions,
        interventions=tuple(vocab.get("interventions") or ("ketamine",)),
        other_treatments=tuple(vocab.get("other_treatments") or ()) + tuple(raw.get("other_generic") or ()),
        not_conditions=tuple(vocab.get("not_conditions") or ()),
        digest=digest,
    )


# --------------------------------------------------------------------------- sentences and clauses


class _Sent:
    """One sentence of the document, with what the rules need to know about it computed on first use (most
    sentences hold no claim candidate, and the claim stage must stay fast)."""

    __slots__ = ("start", "end", "text", "rules", "in_reference", "_suppressed", "_breaks", "_toks", "_starts",
                 "_ends", "_cited")

    def __init__(self, start: int, end: int, text: str, rules: Rules, in_reference: bool):
        self.start, self.end, self.text, self.rules, self.in_reference = start, end, text, rules, in_reference
        self._suppressed: bool | None = None
        self._breaks: list[tuple[int, int]] | None = None
        self._toks: list[str] | None = None
        self._starts: list[int] = []
        self._ends: list[int] = []
        self._cited: bool | None = None

    @property
    def suppressed(self) -> bool:
        """A yes/no question, a citation or a reference-list line: no claims."""
        if self._suppressed is None:
            r = self.rules
            self._suppressed = self.in_reference or bool(
                r.yes_no_question.match(self.text) or r.reference_sentence.search(self.text))
        return self._suppressed

    @property
    def cited(self) -> bool:
        if self._cited is None:
            low = self.text.lower()
            self._cited = any(k in low for k in self.rules.citation_keywords) and bool(
                self.rules.citation.search(self.text))
        return self._cited

    def clause(self, rel_start: int, rel_end: int) -> tuple[int, int]:
        if self._breaks is None:
            st = self.text
            # a colon after a short label ("Infusion length: 60 to 90 minutes") does not end a clause
            self._breaks = [(m.start(), m.end()) for m in self.rules.clause_breaks.finditer(st)
                            if not (m.group(0) == ":" and len(st[:m.start()].split()) <= 3)]
        lo, hi = 0, len(self.text)
        for bs, be in self._breaks:
            if be <= rel_start:
                lo = be
            elif bs >= rel_end:
                hi = min(hi, bs)
                break
        return lo, hi

    def tokens(self, lo: int = 0, hi: int | None = None) -> list[str]:
        """Lowercase word tokens lying wholly within [lo, hi) of the sentence."""
        if self._toks is None:
            low = self.text.lower().replace("’", "'")
            spans = [m.span() for m in _TOKEN.finditer(low)]
            self._starts = [a for a, _ in spans]
            self._ends = [b for _, b in spans]
            self._toks = [low[a:b] for a, b in spans]
        i = bisect.bisect_left(self._starts, lo)
        j = bisect.bisect_right(self._ends, len(self.text) if hi is None else hi)
        return self._toks[i:j] if j > i else []


class _Ctx:
    """Per-claim view: the sentence, the claim's clause and the text around it (token lists computed once)."""

    __slots__ = ("sent", "rel_start", "rel_end", "lo", "hi", "_clause", "_before", "_after")

    def __init__(self, sent: _Sent, rel_start: int, rel_end: int, lo: int, hi: int):
        self.sent, self.rel_start, self.rel_end, self.lo, self.hi = sent, rel_start, rel_end, lo, hi
        self._clause: list[str] | None = None
        self._before: list[str] | None = None
        self._after: list[str] | None = None

    @property
    def clause(self) -> str:
        return self.sent.text[self.lo:self.hi]

    @property
    def before(self) -> str:
        return self.sent.text[self.lo:self.rel_start]

    @property
    def after(self) -> str:
        return self.sent.text[self.rel_end:self.hi]

    def clause_tokens(self) -> list[str]:
        if self._clause is None:
            self._clause = self.sent.tokens(self.lo, self.hi)
        return self._clause

    def before_tokens(self) -> list[str]:
        if self._before is None:
            self._before = self.sent.tokens(self.lo, self.rel_start)
        return self._before

    def after_tokens(self) -> list[str]:
        if self._after is None:
            self._after = self.sent.tokens(self.rel_end, self.hi)
        return self._after


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


def _term_days(rules: Rules, term: str) -> tuple[float | None, float | None, str] | None:
    """Bounds in days of one duration term ("two weeks", "a few days", "months"), and its unit."""
    t = re.sub(r"\s+", " ", term.strip().lower())
    m = _TERM.match(t)
    if m is None:
        return None
    if m.group("unit0"):
        d = _unit_days(m.group("unit0"))
        return d, d, m.group("unit0")
    if m.group("bare"):
        lo, hi = rules.vague_days[m.group("bare")]
        return lo, hi, m.group("bare")
    q, unit = m.group("q").strip(), m.group("unit")
    plural = unit.rstrip("s") + "s"
    for key in (f"{q} {plural}", f"{q.replace('a ', '', 1)} {plural}"):
        if key in rules.vague_days:
            lo, hi = rules.vague_days[key]
            return lo, hi, unit
    if re.fullmatch(r"an?|one|a single|a full|an entire", q):
        n: float | None = 1.0
    else:
        n = parse_number(q)
    if n is None:
        return None
    d = n * _unit_days(unit)
    return d, d, unit


def _duration_bounds(rules: Rules, g: dict[str, Any]) -> tuple[float | None, float | None, str | None] | None:
    """(min_days, max_days, unit) of a duration match before approximators; None when it is no duration."""
    if g.get("quality"):
        q = g["quality"].lower()
        short = re.search(r"short|quick|brief|temporary|not\s+last\s+long|n[’']t\s+last\s+long", q)
        key = "long" if (not short or q.startswith("more than")) else "short"
        lo, hi = rules.vague_days[key]
        return lo, hi, None
    if g.get("point"):
        n = _num(g.get("n1"))
        if n is None:
            return None
        d = n * _unit_days(g["point"])
        return d, d, g["point"]
    body = re.sub(r"\s+", " ", (g.get("body") or "").strip())
    if not body:
        return None
    m = _RANGE.match(body)
    if m and _TERM.match(m.group("n1")) is None:
        n1, n2 = _num(m.group("n1").rstrip("- ")), _num(m.group("n2"))
        if n1 is None or n2 is None:
            return None
        f = _unit_days(m.group("unit"))
        return min(n1, n2) * f, max(n1, n2) * f, m.group("unit")
    parts = [p for p in _TERM_SPLIT.split(body) if p]
    terms = [_term_days(rules, p) for p in parts]
    if not terms or any(t is None for t in terms):
        return None
    first, last = terms[0], terms[-1]
    assert first is not None and last is not None
    return first[0], last[1], last[2]


_LEADS = ("within", "in", "by", "over", "across", "during", "for", "lasting", "lasts", "last", "lasted", "up", "at")


def _aspect(rules: Rules, ctx: _Ctx, g: dict[str, Any], unit: str | None) -> str | None:
    """relief | onset | session | course, from cue words around the duration; None when it is about none of them
    (a wait before an appointment, fasting, how long side effects last, a drug's half-life, a study's follow-up)."""
    cues = rules.cues
    sent = ctx.sent.text
    clause, before, after = ctx.clause, sent[max(0, ctx.rel_start - 50):ctx.rel_start], ctx.after
    approx = re.sub(r"\s+", " ", (g.get("approx") or "").strip().lower())
    lead_text = before + (g.get("approx") or "")
    body = (g.get("body") or g.get("quality") or "").lower()
    tail = (g.get("tail") or "").strip().lower()
    small = unit is not None and unit.lower().rstrip("s") in _SMALL_UNITS
    whole = ctx.lo == 0 and ctx.hi == len(sent)

    ctoks = ctx.clause_tokens()

    def cue(name: str) -> bool:  # in the clause, else anywhere in the sentence
        return cues[name].search_in(ctoks) or (not whole and cues[name].search_in(ctx.sent.tokens()))

    if rules.duration_veto_before.search(before) or _FREQUENCY_BEFORE.search(before):
        return None
    if rules.followup_before.search(before) and not re.search(r"\bstill\b", clause, re.I):
        return None
    if g.get("quality"):
        return "relief"
    if cues["duration_veto"].search_in(ctx.before_tokens()):  # "felt detached for a couple of hours"
        return None
    if tail in ("later", "out"):
        return "relief"
    if tail == "in a row" or "consecutive" in body:
        return "course"
    words = body.split()
    if words and "-" in words[-1]:  # "four-hour infusions", "five-day program", "a one-year study"
        if re.match(r"^\s*(?:[\w-]+\s+)?(?:study|studies|trial|trials|follow-up|data|period|window|history)\b", after, re.I):
            return None
        if _COMPOUND_AFTER.match(after):
            return "session" if small else "course"
    lead = next((w for w in approx.split() if w in _LEADS), "")
    if g.get("point"):
        if g["point"].lower() == "day" and cue("onset"):
            return "onset"
        return "relief" if cue("relief") else None
    if lead in ("within", "in", "by") or "as little as" in approx or "as soon as" in approx:
        if cues["onset"].search_in(ctoks):
            return "onset"
        if lead in ("in", "within") and not small and cues["course"].search_in(ctoks):
            return "course"
        if lead == "within":
            return None
    if _SINGLE_INFUSION_BEFORE.search(lead_text) and not re.search(r"\binfusions\b", clause, re.I):
        return "session"
    if re.match(r"\s*(?:after|following|post)\b", after, re.I):  # "48 hours after the infusion": a time point
        return "relief" if cue("relief") else None
    if small and cue("session"):
        return "session"
    if (lead in ("over", "across", "during", "in") or re.search(r"\bspread\s*$|\bover\s*$", before)) and not small \
            and cues["course"].search_in(ctoks):
        return "course"
    if cue("relief"):
        return "relief"
    if not approx and not small and re.search(r"\b(?:series|course|program|programme|package)\b", clause, re.I):
        return "course"  # a price-table row: "Six-infusion series | 2 weeks | $2,700"
    return None


def _apply_approx(lo: float | None, hi: float | None, approx: str, tail: str, aspect: str) -> tuple[float | None, float | None]:
    a = approx.lower()
    if re.search(r"up\s+to|as\s+long\s+as|as\s+much\s+as", a):
        lo = None
    if re.search(r"at\s+least|more\s+than|≥|>", a) or (re.search(r"\bover\b", a) and aspect != "course"):
        hi = None
    if aspect == "onset" and re.search(r"\b(?:within|in|by)\b|as\s+little\s+as|as\s+soon\s+as", a):
        lo = 0.0
    if re.search(r"or\s+(?:more|longer)", tail.lower()):
        hi = None
    return lo, hi


def _dose(g: dict[str, Any], sentence: str, rel: int) -> dict[str, Any] | None:
    lo, hi = _range(g)
    if lo is None:
        return None
    approx = (g.get("approx") or "").lower()
    if re.search(r"up\s+to|under|less\s+than|below|a\s+maximum\s+of|≤|<", approx):
        lo, hi = None, hi
    elif re.search(r"at\s+least|more\s+than|over|a\s+minimum\s+of|≥|>", approx):
        hi = None
    u = re.sub(r"\s+", " ", g["unit"].lower())
    per_kg = "kg" in u or "kilogram" in u
    per_hour = bool(re.search(r"/\s*(?:h|hr|hour)\b|per hour|an hour|every hour|each hour", u))
    match = g.get("_match", "")
    after = sentence[rel + len(match):rel + len(match) + 20].lower()
    if not per_hour and re.match(r"^\s*(?:per|an|/)\s*(?:hour|h\b)", after):
        per_hour = True
    unit = ("mg/kg" if per_kg else "mg") + ("/h" if per_hour else "")
    route = None
    for name, route_rx in _ROUTES:
        if route_rx.search(sentence):
            route = name
            break
    over = None
    if g.get("over_unit"):
        n = 1.0 if re.fullmatch(r"an?|one", (g.get("over") or "").strip(), re.I) else _num(g.get("over"))
        n2 = _num(g.get("over2")) if g.get("over2") else n
        if n is not None and n2 is not None:
            scale = 1 / 60 if g["over_unit"].lower().startswith("min") else 1.0
            over = _round(max(n, n2) * scale)
    return {"low": lo, "high": hi, "unit": unit, "route": route, "over_hours": over}


def _rate(g: dict[str, Any], sentence: str, rel: int) -> dict[str, Any] | None:
    if g.get("pct"):
        p = float(g["pct"])
        return {"percent": p} if 0 < p <= 100 else None
    if g.get("frac"):
        return {"percent": parse_fraction(g["frac"])}
    k, n = _num(g.get("k")), _num(g.get("n"))
    if k is None or not n or k > n or n > 1000:
        return None
    return {"percent": round(100 * k / n, 1)}


def _sessions(g: dict[str, Any], sentence: str, rel: int) -> dict[str, Any] | None:
    if g.get("o1"):
        lo_o, hi_o = parse_ordinal(g["o1"]), parse_ordinal(g.get("o2") or g["o1"])
        if lo_o is None or hi_o is None:
            return None
        return {"low": lo_o, "high": hi_o}
    n1 = (g.get("n1") or "").strip().lower()
    lo = 1.0 if re.fullmatch(r"a\s+single|one", n1) else _num(n1)
    hi = _num(g.get("n2")) if g.get("n2") else lo
    if lo is None or hi is None or lo > 100 or hi > 100:
        return None
    return {"low": int(lo) if lo == int(lo) else lo, "high": int(hi) if hi == int(hi) else hi}


def _money(text: str | None) -> float | None:
    return float(text.replace(",", "")) if text else None


_VAGUE_PRICES = {"several hundred": (300.0, 900.0), "a few hundred": (200.0, 500.0), "hundreds of": (200.0, 999.0),
                 "thousands of": (2000.0, None), "several thousands of": (3000.0, None), "thousands": (2000.0, None)}


def _price(g: dict[str, Any], sentence: str, rel: int) -> dict[str, Any] | None:
    vague = g.get("vague") or g.get("vague2")
    if vague:
        lo_v, hi_v = _VAGUE_PRICES.get(re.sub(r"\s+", " ", vague.lower()), (None, None))
        return {"low": lo_v, "high": hi_v, "currency": "USD"} if lo_v is not None else None
    lo, hi = _money(g.get("a1")), _money(g.get("a2"))
    if lo is None:
        return None
    cur = (g.get("cur") or "$").strip().lower()
    currency = {"£": "GBP", "€": "EUR"}.get(cur, "USD")
    high = None if g.get("more") else (hi if hi is not None else lo)
    return {"low": lo, "high": high, "currency": currency}


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
    else:  # an unqualified "FDA-approved": what is approved, then the sentence
        s = sentence.lower()
        after = sentence[rel + len(g.get("_match", "")):rel + len(g.get("_match", "")) + 30].lower()
        if re.match(r"\s*(?:medication|medicine|drug|product|anesthetic|anaesthetic)s?\b", after):
            assertion = "fda_approved_anesthetic"  # "an FDA-approved medication": true of ketamine, as an anesthetic
        elif re.search(r"anest|anaest", s):
            assertion = "fda_approved_anesthetic"
        elif re.search(r"\bdepress|ptsd|anxiety|mood", s) and not re.search(r"\bpain\b", s):
            assertion = "fda_approved_for_depression"
        else:
            assertion = "fda_approved_for_pain"
    return {"assertion": assertion, "_negated_in_span": bool(g.get("neg"))}


def _static(g: dict[str, Any], sentence: str, rel: int) -> dict[str, Any] | None:
    return {}


NORMALISERS: dict[str, Callable[[dict[str, Any], str, int], dict[str, Any] | None]] = {
    "dose": _dose, "efficacy_rate": _rate, "sessions": _sessions, "price": _price,
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


class ClaimRecognizer:
    """Finds claims with the rules and writes them to ``doc.spans[span_key]``."""

    def __init__(self, nlp: Language, name: str, rules: Rules, span_key: str = SPAN_KEY):
        self.name = name
        self.rules = rules
        self.span_key = span_key
        # synonyms are found with str.find on whole words: case-insensitively, except all-caps abbreviations of
        # 2-5 letters ("CRPS", "SAD"), which are matched case-sensitively (the vocabulary file's contract)
        self.cond_lower: list[tuple[str, str]] = []
        self.cond_caps: list[tuple[str, str]] = []
        self.cond_words: dict[str, frozenset[str]] = {}  # a phrase can only occur where all its words do
        for cid, syns in rules.conditions.items():
            for syn in syns:
                phrase = " ".join(syn.split())
                if phrase.isupper() and 2 <= len(phrase.replace("-", "")) <= 5:
                    self.cond_caps.append((phrase, cid))
                else:
                    self.cond_lower.append((phrase.lower(), cid))
                self.cond_words[phrase.lower()] = frozenset(re.findall(r"[^\W_]+", phrase.lower()))
        # phrases that contain a condition synonym but name something else ("respiratory depression")
        self.not_conditions = [" ".join(p.lower().split()) for p in rules.not_conditions]
        self.intervention_rx = CueSet(rules.interventions)
        self.other_rx = CueSet(rules.other_treatments) if rules.other_treatments else None

    # -- helpers over one claim's clause
    def _flags(self, ctx: _Ctx, absorbs_negation: bool = False) -> tuple[bool, bool]:
        rules, s = self.rules, ctx.sent.text
        # the claim's own words are no hedge of it ("there is no guarantee")
        hedged = self._hedged(ctx.before_tokens()) or self._hedged(ctx.after_tokens())
        if absorbs_negation:
            return hedged, False
        # negation: a cue among the last words before the claim, not across a comma
        cut = max(s.rfind(",", ctx.lo, ctx.rel_start), s.rfind(";", ctx.lo, ctx.rel_start),
                  s.rfind(":", ctx.lo, ctx.rel_start))
        wlo = max(ctx.lo, cut + 1, ctx.rel_start - 80)
        window = ctx.sent.tokens(wlo, ctx.rel_start)
        if window[-2:] in (["other", "than"], ["except"], ["except", "for"]) or window[-1:] == ["except"]:
            return hedged, False  # "every condition other than CRPS": the exception is not denied
        window = window[-8:]
        for k in range(len(window) - 1, -1, -1):
            # "no data that measure the risk": the negation is of the data (a relative clause follows); but
            # "cannot tell you that it is non-addictive" (a clause with its own subject) stays negated
            if window[k] in ("that", "which", "who") and k + 1 < len(window) and window[k + 1] not in _SUBJECTS:
                window = window[k + 1:]
                break
        negated = rules.negations.search_in(window)
        if not negated and rules.cues["evidence_denial"].search_in(ctx.before_tokens()):
            negated = True
        if not negated and rules.post_negations.search_in(ctx.after_tokens()):
            negated = True
        if not negated and ctx.clause_tokens()[:1] == ["for"] and rules.cues["evidence_denial"].search_in(
                ctx.after_tokens()):
            negated = True  # "For fibromyalgia, migraine and back pain, the guideline found weak or no evidence"
        return hedged, negated

    def _hedged(self, toks: list[str]) -> bool:
        found = self.rules.hedges.found_in(toks)
        if not found:
            return False
        exceptions = self.rules.hedge_exceptions
        if any(f not in {e[e[2]] for e in exceptions} for f in found):
            return True
        # only exception words ("could", "promising"): a hedge unless every use is an exception ("I could")
        for i, t in enumerate(toks):
            if t not in found:
                continue
            excused = False
            for w1, w2, k in exceptions:
                if k == 1 and t == w2 and i > 0 and toks[i - 1] == w1:
                    excused = True
                elif k == 0 and t == w1 and i + 1 < len(toks) and toks[i + 1] == w2:
                    excused = True
            if not excused:
                return True
        return False

    def _about_other(self, toks: list[str]) -> bool:
        """The tokens name another treatment and no form of the intervention. On a ketamine page a bare
        "infusions" or "drip" is the intervention unless it is another treatment's ("lidocaine infusions")."""
        if self.other_rx is None or not self.other_rx.search_in(toks) or self.intervention_rx.search_in(toks):
            return False
        others = self.other_rx.found_in(toks)
        bare = sum(t in ("infusion", "infusions", "drip", "drips", "booster", "boosters") for t in toks)
        return bare <= sum(bool(re.search(r"infusion|drip|booster", o)) for o in others)

    def _other_treatment(self, ctx: _Ctx) -> bool:
        """The claim's clause is about another treatment, or it names no treatment in a sentence that does."""
        ctoks = ctx.clause_tokens()
        if self._about_other(ctoks):
            return True
        return not self.intervention_rx.search_in(ctoks) and self._about_other(ctx.sent.tokens())

    def _sentences(self, doc: Doc) -> list[_Sent]:
        rules, text = self.rules, doc_text(doc)
        # lines of a reference list make no claims
        ref_spans: list[tuple[int, int]] = []
        after_heading = False
        pos = 0
        for line in text.split("\n"):
            start, end = pos, pos + len(line)
            pos = end + 1
            if after_heading or rules.reference_line.search(line):
                ref_spans.append((start, end))
            elif rules.reference_heading.match(line):
                after_heading = True
                ref_spans.append((start, end))
        ref_starts = [s for s, _ in ref_spans]
        out = []
        for start, end in sentence_bounds(doc):
            in_ref = False
            if ref_spans:
                i = bisect.bisect_right(ref_starts, start) - 1
                in_ref = i >= 0 and ref_spans[i][0] <= start < ref_spans[i][1] + 1
            out.append(_Sent(start, end, text[start:end], rules, in_ref))
        return out

    def _list_items(self, text: str, cond_chars: list[tuple[int, int]]) -> list[tuple[int, int]]:
        """Short lines (headings, list items) under a heading that introduces treated conditions."""
        rules = self.rules
        items: list[tuple[int, int]] = []
        in_scope = False
        pos = 0
        for line in text.split("\n"):
            start, end = pos, pos + len(line)
            pos = end + 1
            t = line.strip()
            if not t:
                continue
            words = len(t.split())
            short = words <= 12 and not t.endswith((".", "!", ":"))
            if rules.list_opener.search(t) and words <= 15:
                in_scope = True
                continue
            if not in_scope:
                continue
            if t.endswith("?"):
                in_scope = False
                continue
            if short:
                if any(start <= cs and ce <= end for cs, ce in cond_chars):
                    items.append((start, end))
                elif not re.search(r"\bconditions?\b|\bdisorders?\b", t, re.I):
                    in_scope = False
        return items

    def __call__(self, doc: Doc) -> Doc:
        rules = self.rules
        text = doc_text(doc)
        sents = self._sentences(doc)
        starts = [s.start for s in sents]

        def sentence_of(char: int) -> _Sent:
            return sents[max(0, bisect.bisect_right(starts, char) - 1)]

        def context(start: int, end: int) -> _Ctx | None:
            sent = sentence_of(start)
            if end > sent.end or sent.suppressed:  # a claim never crosses a sentence boundary
                return None
            rs, re_ = start - sent.start, end - sent.start
            lo, hi = sent.clause(rs, re_)
            return _Ctx(sent, rs, re_, lo, hi)

        # conditions named in the text, from the vocabulary; the longest of overlapping names wins
        lower = text.lower()
        words = set(re.findall(r"[^\W_]+", lower))
        present = [(p, c) for p, c in self.cond_lower if self.cond_words[p] <= words]
        caps = [(p, c) for p, c in self.cond_caps if self.cond_words[p.lower()] <= words]
        found = _find_phrases(present, lower) + _find_phrases(caps, text)
        found.sort(key=lambda x: (x[0], -(x[1] - x[0])))
        excluded = [(a, b) for a, b, _ in _find_phrases([(p, "") for p in self.not_conditions], lower)]
        cond_chars: list[tuple[int, int, str]] = []
        last_end = -1
        for cs, ce, cid in found:
            if cs < last_end or any(a <= cs and ce <= b for a, b in excluded):
                continue
            cond_chars.append((cs, ce, cid))
            last_end = ce
        context_by_sent: dict[int, tuple[str, ...]] = {}
        for cs, ce, cid in cond_chars:
            key = sentence_of(cs).start
            ctx_ids = context_by_sent.get(key, ())
            if cid not in ctx_ids:
                context_by_sent[key] = ctx_ids + (cid,)

        candidates: list[tuple[int, int, ClaimPayload]] = []
        hit_cache: dict[str, list[int]] = {}
        for pattern in rules.patterns:
            for m in _matches(pattern, text, lower, hit_cache):
                if pattern.span:
                    names = [n for n in pattern.regex.groupindex if n.startswith(pattern.span) and m.group(n)]
                    if not names:
                        continue
                    start, end = m.span(names[0])
                else:
                    start, end = m.start(), m.end()
                while start < end and text[start].isspace():
                    start += 1
                while end > start and text[end - 1].isspace():
                    end -= 1
                if end <= start:
                    continue
                ctx = context(start, end)
                if ctx is None:
                    continue
                payload = self._candidate(pattern, m, ctx, start)
                if payload is None:
                    continue
                payload.context = context_by_sent.get(ctx.sent.start, ())
                candidates.append((start, end, payload))

        candidates += self._condition_claims(text, cond_chars, context, context_by_sent)

        spans: list[Span] = []
        for start, end, payload in _resolve_overlaps(candidates, sentence_of):
            span = doc.char_span(start, end, alignment_mode="expand")
            if span is None:
                continue
            payload.start, payload.end = start, end
            span._.claim = payload
            spans.append(span)
        doc.spans[self.span_key] = SpanGroup(doc, name=self.span_key, spans=spans)
        # every condition the text names, claim or not (label: the condition id), for readers of the context
        mentions = [doc.char_span(cs, ce, label=cid, alignment_mode="expand") for cs, ce, cid in cond_chars]
        doc.spans[CONDITIONS_KEY] = SpanGroup(doc, name=CONDITIONS_KEY, spans=[m for m in mentions if m is not None])
        return doc

    def _candidate(self, pattern: Pattern, m: re.Match[str], ctx: _Ctx, start: int) -> ClaimPayload | None:
        rules = self.rules
        st = ctx.sent.text
        clause = ctx.clause
        if pattern.needs and not any(rules.cues[c].search_in(ctx.clause_tokens()) for c in pattern.needs):
            return None
        if pattern.unless and any(rules.cues[c].search_in(ctx.clause_tokens()) for c in pattern.unless):
            return None
        m_rel_start, m_rel_end = m.start() - ctx.sent.start, m.end() - ctx.sent.start
        if pattern.unless_before and pattern.unless_before.search(st[max(0, m_rel_start - 60):m_rel_start]):
            return None
        if pattern.unless_after and pattern.unless_after.search(st[m_rel_end:m_rel_end + 60]):
            return None
        groups = {k: v for k, v in m.groupdict().items() if v}
        for k in [k for k in groups if k.startswith("quality") and k != "quality"]:
            groups.setdefault("quality", groups[k])
        groups["_match"] = m.group(0)
        if pattern.type == "duration":
            value = self._duration(groups, ctx)
        else:
            value = NORMALISERS[pattern.type](groups, st, m_rel_start)
        if value is None:
            return None
        value = {**value, **pattern.value}
        hedged, negated = self._flags(ctx, pattern.absorbs_negation)
        if pattern.type == "regulatory":
            negated = bool(value.pop("_negated_in_span", False))
            if negated and value["assertion"].startswith("fda_approved"):
                # "not FDA approved for pain" asserts off-label use; it is not an approval claim
                value["assertion"], negated = "off_label", False
        if pattern.hedged or (pattern.type == "efficacy" and value.get("strength") == "hedged"):
            hedged = True
        return ClaimPayload(
            type=pattern.type, value=value, hedged=hedged, negated=negated,
            cited=ctx.sent.cited, other_treatment=self._other_treatment(ctx), pattern=pattern.id,
        )

    def _duration(self, g: dict[str, Any], ctx: _Ctx) -> dict[str, Any] | None:
        rules = self.rules
        bounds = _duration_bounds(rules, g)
        if bounds is None:
            return None
        lo, hi, unit = bounds
        body = (g.get("body") or "").strip().lower()
        bare = bool(re.fullmatch(r"minutes|hours|days|weeks|months|years", body))
        if bare and not (g.get("approx") or "").strip() and not re.match(r"\s*of\s+(?:\w+\s+)?relief", ctx.after):
            return None  # a bare "months" needs an approximator ("for months") to be a claim
        if body.startswith("the first") and not (g.get("approx") or "").strip():
            return None  # "the first week after the series was the best" is no duration claim
        aspect = _aspect(rules, ctx, g, unit)
        if aspect is None:
            return None
        approx = g.get("approx") or ""
        if aspect == "course":
            approx = re.sub(r"\b(?:over|across|during|in|within)\b", "", approx, flags=re.I)
        lo, hi = _apply_approx(lo, hi, approx, g.get("tail") or "", aspect)
        if lo is not None and hi is not None and hi < lo:
            lo, hi = hi, lo
        return {"min_days": _round(lo), "max_days": _round(hi), "aspect": aspect}

    def _condition_claims(
        self, text: str, cond_chars: list[tuple[int, int, str]], context: Callable[[int, int], _Ctx | None],
        context_by_sent: dict[int, tuple[str, ...]],
    ) -> list[tuple[int, int, ClaimPayload]]:
        """A condition named in the text is a claim when its clause links it to the treatment (a form of the
        intervention, "we treat", relief, evidence, a benefit verb, "CRPS program"), or when it is an item of a
        list of treated conditions; never when the clause is about another treatment, or when it is a patient's
        history, a risk or a side effect."""
        rules = self.rules
        items = self._list_items(text, [(cs, ce) for cs, ce, _ in cond_chars])
        item_starts = [s for s, _ in items]
        cond_starts = [c[0] for c in cond_chars]
        out = []
        for cs, ce, cid in cond_chars:
            ctx = context(cs, ce)
            if ctx is None:
                continue
            st = ctx.sent.text
            if rules.block_before.search(st[max(0, ctx.rel_start - 60):ctx.rel_start]):
                continue
            j = bisect.bisect_right(item_starts, cs) - 1
            in_list = j >= 0 and items[j][0] <= cs and ce <= items[j][1]
            if not in_list:
                # the clause's words outside condition names ("treatment-resistant" is no treatment word)
                sent, toks, pos = ctx.sent, [], ctx.lo
                k = bisect.bisect_left(cond_starts, sent.start)
                while k < len(cond_chars) and cond_chars[k][0] < sent.end:
                    a, b = cond_chars[k][0] - sent.start, cond_chars[k][1] - sent.start
                    if ctx.lo <= a < ctx.hi:
                        toks += sent.tokens(pos, max(pos, a))
                        pos = max(pos, b)
                    k += 1
                toks += sent.tokens(pos, ctx.hi)
                link = rules.cues["condition_link"]
                linked = link.search_in(toks) or bool(rules.link_after.match(ctx.after))
                if not linked and ctx.hi - ctx.lo < 60 and len(ctx.clause.split()) <= 8:
                    linked = link.search_in(sent.tokens())
                if not linked or self._about_other(ctx.clause_tokens()):
                    continue
            hedged, negated = self._flags(ctx)
            out.append((cs, ce, ClaimPayload(
                type="condition", value={"condition": cid}, hedged=hedged, negated=negated,
                context=context_by_sent.get(ctx.sent.start, ()), cited=ctx.sent.cited,
                other_treatment=False, pattern="vocabulary",
            )))
        return out


def _matches(pattern: Pattern, text: str, lower: str, hit_cache: dict[str, list[int]]) -> Iterable[re.Match[str]]:
    """The pattern's matches. With anchors, the regex only runs in windows around the anchor hits (found with
    ``str.find``, much faster than a regex scan, and shared by the patterns of one document through
    ``hit_cache``) and keeps the matches in which a hit starts."""
    if not pattern.anchor:
        yield from pattern.regex.finditer(text)
        return
    starts: list[int] = []
    for word in pattern.anchor:
        found = hit_cache.get(word)
        if found is None:
            found = []
            i = lower.find(word)
            while i >= 0:
                found.append(i)
                i = lower.find(word, i + 1)
            hit_cache[word] = found
        starts += found
    if not starts:
        return
    starts.sort()
    back, fwd = pattern.window
    fwd += max(len(w) for w in pattern.anchor)
    n = len(text)
    windows: list[list[int]] = []
    for hs in starts:
        ws, we = hs - back, hs + fwd
        if windows and ws <= windows[-1][1]:
            windows[-1][1] = we
        else:
            windows.append([max(0, ws), we])
    for ws, we in windows:
        for m in pattern.regex.finditer(text, ws, min(n, we)):
            # keep a match in which an anchor hit starts
            i = bisect.bisect_left(starts, m.start())
            if i < len(starts) and starts[i] < m.end():
                yield m


def _find_phrases(phrases: list[tuple[str, str]], text: str) -> list[tuple[int, int, str]]:
    """(start, end, label) of every whole-word occurrence of each phrase: not preceded by a letter, digit or
    hyphen ("non-cancer pain" holds no "cancer pain"), not followed by a letter or digit."""
    out = []
    n = len(text)
    for phrase, label in phrases:
        size = len(phrase)
        i = text.find(phrase)
        while i >= 0:
            j = i + size
            if (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "-")) and (j == n or not text[j].isalnum()):
                out.append((i, j, label))
            i = text.find(phrase, i + 1)
    return out


_ONCE_PER_SENTENCE = frozenset({"regulatory", "safety", "efficacy", "condition"})


def _resolve_overlaps(
    cands: list[tuple[int, int, ClaimPayload]], sentence_of: Callable[[int], _Sent]
) -> list[tuple[int, int, ClaimPayload]]:
    """Within a claim type keep the longest of overlapping matches (then the earliest); a time span that is
    part of a dose ("0.5 mg/kg over 40 minutes") belongs to the dose; an assertion repeated in one sentence
    ("side effects include nausea and dissociation") is one claim, at its first mention."""
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
    doses = [(c[0], c[1]) for c in kept if c[2].type == "dose"]
    kept = [c for c in kept if not (c[2].type == "duration" and any(s < c[1] and c[0] < e for s, e in doses))]
    # "no evidence for addiction ... physical dependence or psychological dependence" is one non-addictive claim
    non_addictive = {sentence_of(c[0]).start for c in kept
                     if c[2].value.get("assertion") == "non_addictive" and not c[2].negated}
    kept = [c for c in kept if not (c[2].value.get("assertion") == "abuse_risk_disclosed"
                                    and sentence_of(c[0]).start in non_addictive)]
    kept.sort(key=lambda c: (c[0], c[1], c[2].type))
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


_NUMBER_WORDS_RE = ("one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|"
                    "sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred")
# Abbreviations whose full stop ends no sentence.
# Abbreviations whose full stop ends no sentence.
_ABBREVIATIONS = frozenset(
    "dr mr mrs ms prof st sr jr vs etc al e.g i.e approx fig vol inc ltd co corp dept jan feb mar apr jun jul aug "
    "sep sept oct nov dec u.s u.k a.m p.m ph.d m.d b.a ca cf".split())
_SENTENCE_BREAK = re.compile(
    r"\n\s*"  # a line break: headings and list items in extracted page text carry no full stop
    # a full stop, question or exclamation mark and space before a capital, a digit or a quote
    r"|(?P<stop>[.!?])[.!?]*[\"”’')\]]*[ \t]+(?=[\"“‘(\[]?[A-Z0-9])"
    # a footnote glued to a full stop ("controlled.9 Ketamine", spun copy's "seventies.seventy six The")
    r"|(?<=[A-Za-z]{2})\.(?:\d+|[a-z]+)(?:\s+(?:" + _NUMBER_WORDS_RE + r"))*\s+(?=[A-Z])",
)
_WORD_BEFORE_STOP = re.compile(r"([\w.]+)$")


# a word or punctuation mark with the single space after it, or a run of other whitespace
_FAST_TOKEN = re.compile(r"(\w+(?:[.'’/-]\w+)*|[^\w\s])( ?)|(\s+)")


class FastTokenizer:
    """Words (with internal ".", "'", "-", "/": "0.5", "mg/kg", "six-infusion"), single punctuation marks and
    whitespace, the way spaCy lays out spaces. About six times faster than spaCy's English tokenizer, which
    matters because the claim stage reads the text with regular expressions and uses tokens only for spans."""

    def __init__(self, vocab: Any):
        self.vocab = vocab

    def __call__(self, text: str) -> Doc:
        parts = _FAST_TOKEN.findall(text)
        words = [word or blank for word, _, blank in parts]
        spaces = [space == " " for _, space, _ in parts]
        doc = Doc(self.vocab, words=words, spaces=spaces)
        doc.user_data["claimaudit_text"] = (len(doc), text)
        return doc

    def pipe(self, texts: Iterable[str], batch_size: int = 1000) -> Iterable[Doc]:
        for text in texts:
            yield self(text)

    def to_bytes(self, **kwargs: Any) -> bytes:
        return b""

    def from_bytes(self, data: bytes, **kwargs: Any) -> "FastTokenizer":
        return self

    def to_disk(self, path: Any, **kwargs: Any) -> None:
        Path(path).mkdir(parents=True, exist_ok=True)

    def from_disk(self, path: Any, **kwargs: Any) -> "FastTokenizer":
        return self


@spacy.registry.tokenizers("claimaudit_fast_tokenizer")
def create_fast_tokenizer() -> Callable[[Language], FastTokenizer]:
    def create(nlp: Language) -> FastTokenizer:
        return FastTokenizer(nlp.vocab)
    return create


def doc_text(doc: Doc) -> str:
    """``doc.text``, computed once per document: spaCy rebuilds it from every token on each access."""
    cached = doc.user_data.get("claimaudit_text")
    if cached is None or cached[0] != len(doc):
        cached = (len(doc), doc.text)
        doc.user_data["claimaudit_text"] = cached
    return cached[1]


def _token_starts(doc: Doc) -> np.ndarray:
    return doc.to_array([IDX]).reshape(-1) if len(doc) else np.zeros(0, dtype=np.int64)


@Language.component("claimaudit_sentences")
def claimaudit_sentences(doc: Doc) -> Doc:
    """Sentence boundaries from the text: line breaks (headings and list items carry no full stop), a full
    stop, question or exclamation mark before a capital (not after "Dr." or "e.g."), and a footnote glued to a
    full stop ("controlled.9 Ketamine", spun copy's "controlled.nine Ketamine"). Set from character offsets in
    one array, without a Python loop over tokens: the claim stage must stay fast."""
    n = len(doc)
    if not n:
        return doc
    text = doc_text(doc)
    idx = _token_starts(doc)
    starts = np.full(n, np.iinfo(np.uint64).max, dtype=np.uint64)  # -1 (no sentence start), as spaCy stores it
    starts[0] = 1
    ends = []
    for m in _SENTENCE_BREAK.finditer(text):
        if m.group("stop") == ".":
            w = _WORD_BEFORE_STOP.search(text, max(0, m.start() - 12), m.start())
            if w and (w.group(1).lower() in _ABBREVIATIONS or (w.group(1).lower() == "no" and text[m.end():m.end() + 1].isdigit())):
                continue  # "Dr. Whitfield", "e.g. the", "No. 5"
        ends.append(m.end())
    if ends:
        j = np.searchsorted(idx, np.asarray(ends, dtype=np.int64))
        j = j[j < n]
        starts[j] = 1
    doc.from_array([SENT_START], starts.reshape(-1, 1))
    return doc


@Language.component("newline_sentence_starts")
def newline_sentence_starts(doc: Doc) -> Doc:
    """Line breaks end sentences (kept for pipelines that use spaCy's sentencizer after it)."""
    text = doc_text(doc)
    if not text:
        return doc
    idx = _token_starts(doc)
    n = len(idx)
    for m in re.finditer(r"\n\s*", text):
        j = int(np.searchsorted(idx, m.end()))
        if 0 < j < n and idx[j] == m.end() and not doc[j].is_space:
            doc[j].is_sent_start = True
    return doc


def sentence_bounds(doc: Doc) -> list[tuple[int, int]]:
    """(start, end) character offsets of the sentences; ``end`` is the next sentence's start (trailing whitespace
    included). Read from the token arrays, which is much faster than iterating ``doc.sents``."""
    cached = doc.user_data.get("claimaudit_sentence_bounds")
    if cached is not None and cached[0] == len(doc):
        return list(cached[1])
    if not len(doc):
        return []
    arr = doc.to_array([SENT_START, IDX])
    starts = arr[arr[:, 0] == 1, 1].tolist()
    if not starts or starts[0] != 0:
        starts = [0] + starts
    bounds = list(zip(starts, starts[1:] + [len(doc_text(doc))]))
    doc.user_data["claimaudit_sentence_bounds"] = (len(doc), tuple(bounds))
    return bounds


@lru_cache(maxsize=4)
def build_nlp(patterns_path: str, vocabulary_path: str) -> Language:
    """A blank English pipeline with the fast tokenizer, rule-based sentence boundaries and the claim component.
    No statistical components: the claim stage does not use their output (see STACK.md on NER cost)."""
    nlp = spacy.blank("en", config={"nlp": {"tokenizer": {"@tokenizers": "claimaudit_fast_tokenizer"}}})
    nlp.max_length = 5_000_000
    nlp.add_pipe("claimaudit_sentences")
    nlp.add_pipe("claimaudit_claims", config={"patterns_path": patterns_path, "vocabulary_path": vocabulary_path})
    return nlp


def sentences_from_doc(doc: Doc) -> list[Sentence]:
    """Sentence records with offsets stripped of surrounding whitespace; empty sentences dropped."""
    out: list[Sentence] = []
    text = doc_text(doc)
    for start, end in sentence_bounds(doc):
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if end > start:
            out.append(Sentence(i=len(out), start=start, end=end, text=text[start:end]))
    return out


def claims_from_doc(doc: Doc, sentences: list[Sentence], source: str = "page", span_key: str = SPAN_KEY) -> list[Claim]:
    """Claim records from the span group; ``sentence`` indexes ``sentences``."""
    starts = [s.start for s in sentences]
    out: list[Claim] = []
    text = doc_text(doc)
    for span in doc.spans.get(span_key, []):
        p: ClaimPayload = span._.claim
        start, end = p.start, p.end
        i = max(0, bisect.bisect_right(starts, start) - 1)
        out.append(Claim(
            type=p.type, text=text[start:end], start=start, end=end, sentence=sentences[i].i if sentences else 0,
            value=dict(p.value), hedged=p.hedged, negated=p.negated, source=source, context=p.context, cited=p.cited,
            other_treatment=p.other_treatment,
        ))
    return out
