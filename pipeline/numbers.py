"""Numbers written as digits or words ("forty eight", "a dozen", "two thirds", "one and a half").

Hand-written because the libraries that parse number words (word2number, text2num) cover neither
fractions nor "a dozen"/"a couple", and both are tiny; this keeps the claim stage dependency-free.
"""

from __future__ import annotations

import re

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

_NUMBER_WORDS = [w for w in UNITS if w not in ("a", "an", "single")]
_WORD_ALT = "|".join(sorted(_NUMBER_WORDS + list(TENS), key=len, reverse=True))
#: Regex fragment for a number in digits or words (no capture groups), used as {NUM} in the patterns file.
NUMBER_RE = (
    r"(?:\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
    r"|half\s+a\s+dozen|a\s+(?:dozen|couple(?:\s+of)?|few|hundred)|dozen|several|couple"
    rf"|(?:{_WORD_ALT})(?:[\s-](?:{'|'.join(_NUMBER_WORDS)}))?(?:\s+and\s+a\s+half)?)"
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


def parse_fraction(text: str) -> float | None:
    """'two thirds' -> 66.67, 'half' -> 50.0; None when the text is not a known fraction."""
    s = re.sub(r"[\s-]+", " ", text.strip().lower())
    value = FRACTIONS.get(s) or FRACTIONS.get(s.replace(" ", "-"))
    return round(value, 1) if value is not None else None
