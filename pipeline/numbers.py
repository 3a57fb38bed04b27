"""Numbers written as digits or words ("forty eight", "a dozen", "two thirds", "one and a half").

Hand-written because the libraries that parse number words (word2number, text2num) cover neither
fractions nor "a dozen"/"a couple", and both are tiny; this keeps the claim stage dependency-free.
"""

from __future__ import annotations

import re
from typing import Any

UNITS = {
    "zero": 0, "a": 1, "an": 1, "one": 1, "single": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}
TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fourty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
        "eighty": 80, "ninety": 90}
SPECIAL = {"dozen": 12, "a dozen": 12, "couple": 2, "a couple": 2, "a couple of": 2, "a few": 3, "few": 3,
           "several": 3, "half a dozen": 6, "hundred": 100, "a hundred": 100}
FRACTIONS = {"half": 50.0, "a half": 50.0, "one half": 50.0, "one third": 100 / 3, "a third": 100 / 3,
             "two thirds": 200 / 3, "two-thirds": 200 / 3, "one quarter": 25.0, "a quarter": 25.0,
             "three quarters": 75.0, "three-quarters": 75.0, "one fifth": 20.0, "four fifths": 80.0,
             "nine in ten": 90.0}

ORDINALS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8, "ninth": 9,
    "tenth": 10, "eleventh": 11, "twelfth": 12, "1st": 1, "2nd": 2, "3rd": 3, "4th": 4, "5th": 5, "6th": 6, "7th": 7,
    "8th": 8, "9th": 9, "10th": 10, "11th": 11, "12th": 12,
}

_NUMBER_WORDS = [w for w in UNITS if w not in ("a", "an", "single")]


def trie_regex(phrases: list[str]) -> str:
    """One regex alternation for literal phrases, as a trie ("f(?:ive|o(?:ur|rty))"): Python's regex engine
    tries the alternatives of a group one by one, so sharing prefixes makes a long list several times faster.
    Spaces in a phrase match any whitespace; longer phrases are preferred over their prefixes."""
    trie: dict[str, Any] = {}
    for phrase in phrases:
        node = trie
        for ch in phrase.lower():
            node = node.setdefault(ch, {})
        node[""] = {}

    def build(node: dict[str, Any]) -> str:
        alts = []
        end = "" in node
        for ch in sorted(k for k in node if k):
            piece = r"\s+" if ch == " " else re.escape(ch)
            alts.append(piece + build(node[ch]))
        if not alts:
            return ""
        body = alts[0] if len(alts) == 1 and not end else "(?:" + "|".join(alts) + ")"
        return body + "?" if end and body else body

    return "(?:" + build(trie) + ")"


_WORD_ALT = trie_regex(_NUMBER_WORDS + list(TENS))[3:-1]
#: Regex fragment for a number in digits or words (no capture groups), used as {NUM} in the patterns file.
NUMBER_RE = (
    r"(?:\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
    r"|half\s+a\s+dozen|a\s+(?:dozen|couple(?:\s+of)?|few|hundred)|dozen|several|couple"
    rf"|(?:{_WORD_ALT})(?:[\s-]{trie_regex(_NUMBER_WORDS)})?(?:\s+and\s+a\s+half)?)"
)


def parse_number(text: str) -> float | None:
    """'48' -> 48.0, 'forty eight' -> 48.0, 'a dozen' -> 12.0, 'one and a half' -> 1.5, '1,200' -> 1200."""
    s = re.sub(r"[\s-]+", " ", text.strip().lower())
    if not s:
        return None
    try:
        return float(s.replace(",", ""))
    except ValueError:
        pass
    if s in SPECIAL:
        return float(SPECIAL[s])
    half = 0.0
    if s.endswith(" and a half"):
        s, half = s[: -len(" and a half")], 0.5
    parts = s.split()
    if len(parts) == 1 and parts[0] in UNITS:
        return UNITS[parts[0]] + half
    if len(parts) == 1 and parts[0] in TENS:
        return TENS[parts[0]] + half
    if len(parts) == 2 and parts[0] in TENS and parts[1] in UNITS and UNITS[parts[1]] < 10:
        return TENS[parts[0]] + UNITS[parts[1]] + half
    return None


#: Regex fragment for an ordinal ("third", "4th"), used as {ORD} in the patterns file.
ORDINAL_RE = "(?:" + "|".join(sorted(ORDINALS, key=len, reverse=True)) + ")"


def parse_ordinal(text: str) -> int | None:
    """'fourth' -> 4, '3rd' -> 3; None when the text is not an ordinal."""
    return ORDINALS.get(text.strip().lower())


def parse_fraction(text: str) -> float | None:
    """'two thirds' -> 66.67, 'half' -> 50.0; None when the text is not a known fraction."""
    s = re.sub(r"[\s-]+", " ", text.strip().lower())
    value = FRACTIONS.get(s) or FRACTIONS.get(s.replace(" ", "-"))
    return round(value, 1) if value is not None else None
