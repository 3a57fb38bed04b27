"""Check stage: read how each sentence presents its claims, judge the claims against the consensus
findings, and record missing disclosures.

1. Reading (``read_claims``). A claim is only judged as the page's own assertion when the page asserts it.
   From the sentence text (and its neighbours) each claim gets a ``Reading``:
   - not asserted: a question ("Can ketamine cure my pain?"), a claim the page attributes to others to
     distance itself ("other clinics say relief lasts for months", "advertising that promised...",
     "claims that...", "statements such as..."), or the title of a publication in a reference list.
     These are ``not_assessed`` with the reason.
   - negated: the clause denies the evidence for a benefit ("no good evidence shows that...", "the
     guideline found weak or no evidence", "did not reduce pain", "a need for more trials to establish");
   - cited: the sentence reports research or guidance ("a 2019 meta-analysis found", "studies have shown");
   - hedged: the claim is relayed from patients ("those who use it say...").
   These flags are added to the extractor's (never removed) and written to the claim record.
2. Rules (``judge``) live in the findings file (see ``pipeline.findings``). For a claim, every rule of every
   finding whose claim type and ``when`` tests match is a candidate. The highest ``priority`` wins; among
   equals the LEAST severe verdict wins, because a false accusation is worse than a miss. Then:
   - a hedged claim gets the rule's ``hedged_verdict``, or contradicted is softened to overstated;
   - a finding whose certainty is ``unverified`` never yields ``contradicted`` (it yields not_assessed);
   - negated claims are judged by what they assert: a rule applies to them only if it says ``negated: true``;
   - claims about another treatment, and claims no rule covers, are ``not_assessed``.
3. Guards against false accusations (``judge_all`` with readings):
   - a success rate is only a problem when its clause speaks of success (respond, relief, improvement...),
     not when it counts side effects ("76% reported psychomimetic effects");
   - a single infusion is only a problem when its clause promises a benefit, not as a "trial infusion";
   - a condition named in a sentence about research is only a problem when the sentence words a benefit
     ("studies have shown ketamine to be beneficial in X"), not when it names a research topic;
   - a claim whose sentence names no condition is also judged with the conditions of the two sentences
     before it, and the less severe verdict is kept ("...ketamine for CRPS. It reduced his pain for two
     months" is judged as a CRPS claim).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, replace
from typing import Any, Iterable, Sequence

from .findings import Finding, FindingsFile, Rule
from .records import PROBLEM_VERDICTS, Claim, Omission, Sentence, Verdict

LOGGER = logging.getLogger(__name__)

SEVERITY = {"consistent": 0, "not_assessed": 0, "unsupported": 1, "overstated": 2, "contradicted": 3}
SOFTER = {"contradicted": "overstated"}
PROMOTING_TYPES = frozenset({"condition", "duration", "efficacy", "efficacy_rate"})
#: Claim types that state a benefit; an evidence denial in their clause negates them.
BENEFIT_TYPES = frozenset({"condition", "duration", "efficacy", "efficacy_rate", "sessions"})


# --------------------------------------------------------------------------- reading cues

_CLAUSE_BREAK = re.compile(r"[;:]|\s[–—-]\s|\b(?:but|however|although|though|whereas|while|yet)\b", re.I)
_DENIAL_BREAK = re.compile(_CLAUSE_BREAK.pattern + r"|,\s+and\b", re.I)

#: The clause denies the evidence for a benefit.
DENIAL = re.compile(r"""
    \bno\s+(?:[\w-]+\s+){0,3}?(?:evidence|proof|data|trials?|stud(?:y|ies)|support|benefit|difference|improvement|effect)\b
  | \b(?:lack|absence|dearth|paucity)\s+of\s+(?:[\w-]+\s+){0,3}?(?:evidence|proof|data|trials|studies|benefit|effect|support)\b
  | \b(?:weak|little|limited|insufficient|inadequate|scant|sparse|inconclusive|conflicting)\s+(?:or\s+no\s+)?evidence\b
  | \bnot\s+(?:(?:been|yet|reliably|consistently|clearly|well|firmly|convincingly)\s+)*
        (?:shown|proven|established|demonstrated|backed|supported|confirmed|measured)\b
  | \bunproven\b | \bnot\s+(?:consistent|supported)\s+(?:with|by)\b
  | \b(?:do|does|did)\s*(?:not|n[’']t)\s+(?:come\s+from|cure|reduce|improve|help|work|differ|show|support|last|recommend)\b
  | \b(?:have|has)\s+not\s+(?:seen|found|shown)\b | \bno\s+better\s+than\b
  | \bnot\s+(?:statistically\s+)?significant(?:ly)?\b | \bno\s+longer\s+(?:statistically\s+)?significant\b
  | \bneed\s+(?:for\s+)?(?:more|further|larger|better)\b
  | \b(?:more|further|larger|better)\s+(?:[\w-]+\s+){0,3}?(?:studies|research|trials|evidence)\s+(?:are|is)\s+(?:needed|required)\b
  | \bpoints?\s+the\s+other\s+way\b | \bnot\s+recommended\b | \bless\s+well\b | \buncertain\b
  | \b(?:cannot|can[’']t|can\s+not|do\s+not|don[’']t)\s+(?:promise|guarantee)\b | \bno\s+guarantee\b | \bnot\s+guaranteed\b
  | \bfail(?:s|ed)?\s+to\s+(?:show|find|reduce|improve|help|beat)\b
""", re.I | re.X)

#: The page relays what others (clinics, advertising) claim, to report or question it.
OTHERS = re.compile(r"""
    \badvertis(?:e|es|ed|ing|ements?|ers?)\b | \bmarketing\b | \bpromotional\b
  | \b(?:claims?|statements?|promises|figures|slogans?|assertions?)\s+(?:that|of|such\s+as|like)\b
  | \bsuch\s+(?:claims|statements|promises)\b
  | \bsometimes\s+(?:quoted|cited|described|claimed|said|presented)\b
  | \b(?:is|are)\s+(?:often|sometimes|widely|commonly|frequently)\s+(?:claimed|said|advertised|promoted|touted)\b
  | \b(?:other|some|many|most|private|these|such|ketamine|infusion|commercial|for-profit)\s+(?:ketamine\s+|infusion\s+)?
        (?:clinics|providers|centres|centers|websites|companies|businesses)\b(?!\s*,\s*(?:we|our)\b)
  | (?<!our\s)(?<!my\s)\bclinic(?:s|[’']s)?\s+(?:[\w’'-]+\s+){0,4}?(?:say|says|said|told|tell|tells|claim|claims|claimed|
        promise|promised|promises|advertise|advertises|advertised|describe|describes|described)\b
  | \b(?:staff|salespeople|sales\s+staff|reps)\s+(?:\w+\s+){0,2}?(?:said|say|says|told|described|describe|claimed|promised)\b
  | \b(?:clinics?|reviews?|providers?|sites|websites?|ads)\b,?\s+(?:that|which|who)\s+
        (?:promise|promises|claim|claims|advertise|advertises|guarantee|guarantees)\b
""", re.I | re.X)
_OTHERS_BREAK = re.compile(_CLAUSE_BREAK.pattern.replace("[;:]", ";"), re.I)

#: The page relays patients' own accounts: the claim is hedged, not asserted outright.
HEARSAY = re.compile(r"\b(?:patients|people|users|clients|sufferers|those|veterans|members)\b(?:\s+[\w'’-]+){0,8}?\s+"
                     r"(?:say|says|said|tell\s+us|describe|described|swear|report|reports|reported)\b", re.I)

_RESEARCH_NOUN = (r"(?:stud(?:y|ies)|trials?|reviews?|meta[\s-]?analys[ie]s|analys[ie]s|research|researchers|guidelines?|"
                  r"experts?|authors|investigators|cohort|data|evidence|literature|societies|recommendations)")
_REPORT_VERB = (r"(?:found|finds?|show(?:s|ed|n)?|suggest(?:s|ed)?|indicat(?:e|es|ed)|report(?:s|ed)?|conclud(?:e|es|ed)|"
                r"not(?:e|es|ed)|reveal(?:s|ed)?|demonstrat(?:e|es|ed)|observ(?:e|es|ed)|document(?:s|ed)?|"
                r"highlight(?:s|ed)?|lament(?:s|ed)?|rat(?:e|es|ed)|judg(?:e|es|ed)|discover(?:s|ed)?|uncover(?:s|ed)?|"
                r"point(?:s|ed|ing)?\s+to|confirm(?:s|ed)?|counsel|recommend(?:s|ed)?)")
#: The sentence reports research or guidance (named or generic).
CITED = re.compile(
    rf"\b{_RESEARCH_NOUN}\b(?:\s+[\w,()'’-]+){{0,12}}?\s+(?:(?:have|has|had|were|was)\s+)?(?:been\s+)?{_REPORT_VERB}\b"
    r"|\baccording\s+to\b|\bet\s+al\b|\b[A-Z][a-z]+\s+and\s+colleagues\b"
    r"|\bin\s+(?:a|one|the|another|this|that|their|two|three)\s+(?:[\w-]+\s+){0,3}?(?:study|trial|review|meta-analysis|cohort|guidelines?)\b"
    r"|\b(?:a|an|the|one|this|that|another|recent)\s+(?:[\w-]+\s+){0,4}?(?:meta[\s-]?analysis|systematic\s+review|"
    r"randomi[sz]ed\s+(?:controlled\s+)?trial|clinical\s+trial|cohort\s+study|consensus\s+guidelines?)\b"
    r"|\b(?:19|20)\d\d\s+(?:[\w-]+\s+){0,3}?(?:study|trial|review|meta-analysis|research|cohort|analysis|guidelines?)\b",
    re.I)
#: The sentence is about research at all (a topic, a trial, a recruitment notice).
RESEARCH = re.compile(r"\b(?:stud(?:y|ies|ied)|trials?|reviews?|research\w*|thesis|doctoral|grant|projects?|recruit\w*|"
                      r"feasibility|investigat\w*|meta[\s-]?analys[ie]s|guidelines?|evidence)\b", re.I)
#: Wording of a benefit (for condition and single-infusion claims).
BENEFIT = re.compile(r"\b(?:help(?:s|ed|ful)?|relie(?:f|ve|ves|ved|ving)|benefi(?:t|ts|cial)|effective(?:ly|ness)?|"
                     r"efficacy|works|worked|work\s+(?:for|well|wonders|best)|respon(?:d|ds|ded|se|ses|ders?)|improv(?:e|es|ed|ing|ement|ements)|"
                     r"reduc(?:e|es|ed|ing|tion)|eas(?:e|es|ed|ing)|alleviat\w*|lessen\w*|success\w*|results?|remission|"
                     r"cur(?:e|es|ed)|hope|promising|powerful|potent|breakthrough|miracl\w*|life[\s-]changing|"
                     r"indicat(?:ion|ions|ed)|better|pain[\s-]free|wonders?|transform\w*|options?|done\s+(?:very\s+)?well|"
                     r"(?:go|goes|went|gone)\s+from|(?:return|returned|back)\s+to\s+work)\b",
                     re.I)
#: Wording that offers ketamine for a condition ("ketamine for neuropathy", "conditions we treat", "our
#: fibromyalgia protocol"); a condition named without it, or without benefit wording, is not a claim.
OFFER = re.compile(r"\b(?:ketamine|esketamine|infusions?|therapy|treatments?)\s+(?:[\w-]+\s+){0,3}?(?:for|in)\b"
                   r"|\b(?:ketamine|esketamine|infusions?|we|it)\s+(?:\w+\s+){0,2}?(?:offers?|treats?|provides?|manages?)\b"
                   r"|\b(?:conditions?|patients)\s+(?:that\s+)?we\s+(?:\w+\s+)?treat\b"
                   r"|\bour\s+(?:[\w-]+\s+){0,3}?(?:protocol|program|programme|patients|treatment|service|clinic)\b", re.I)
_INTERVENTION = re.compile(r"\b(?:ketamine|esketamine|spravato|ketalar|infusions?|drips?|boosters?|we|our|us)\b", re.I)


def _words(text: str) -> list[str]:
    """The words of a sentence without list bullets and parentheses."""
    return re.sub(r"\([^)]*\)", " ", text).replace("-", " ").split()


#: The sentence states a regulatory status ("is off-label", "FDA-approved", "Schedule III").
REGULATORY = re.compile(r"\boff[\s-]label\b|\bfda\b|\bapproved\b|\bcontrolled\s+substance\b|\bschedule\s+(?:iii|3)\b",
                        re.I)
#: A duration that is a time point of measurement ("pain was lower at 12 months", "12-month data"), not how long
#: relief lasts.
_TIMEPOINT_BEFORE = re.compile(r"\b(?:at|by)\s+(?:the\s+)?(?:end\s+of\s+)?$", re.I)
_TIMEPOINT_AFTER = re.compile(r"^[\s-]*(?:data|follow[\s-]?up|visits?|mark|time\s*points?|outcomes?|assessments?)\b", re.I)
#: A safety statement qualified by rarity ("serious harm is rare") is a hedged one.
_RARITY = re.compile(r"\b(?:rare|rarely|uncommon|unusual|infrequent|seldom|low\s+risk)\b", re.I)
#: Percentages that are not about patients improving.
NOT_A_RATE = re.compile(r"%\s+off\b|\bdiscount|\bfirst\s+responders\b|\bsavings?\b", re.I)
#: Wording of success (for success rates, as opposed to rates of side effects).
SUCCESS = re.compile(r"\b(?:respon(?:d|ds|ded|se|ses|ders?)|relie(?:f|ve|ved)|success\w*|effective\w*|improv\w*|better|"
                     r"remission|help(?:s|ed)?|works|worked|benefit\w*|reduc(?:e|ed|tion)|pain[\s-]free|results?|"
                     r"recover\w*)\b", re.I)

_REFERENCES_HEADING = re.compile(r"^\W*(?:references|sources|bibliography|further\s+reading|works\s+cited|"
                                 r"literature(?:\s+cited)?|citations|(?:key|selected)\s+references|reading\s+list)\W*$",
                                 re.I)
_AUTHORS = re.compile(r"^\W*(?:[A-Z][\w'’-]+(?:\s[A-Z][\w'’-]+)?\s[A-Z]{1,4}\b[,;.]?\s*)+(?:et\s+al\.?)?")
_JOURNAL_YEAR = re.compile(r"\b(?:19|20)\d\d\s*;\s*\d|^\W*(?:19|20)\d\d\b|\bdoi\b", re.I)


@dataclass(frozen=True, slots=True)
class Reading:
    """How the page's sentence presents one claim."""

    not_asserted: str | None = None  # why the page does not assert the claim, or None
    negated: bool = False
    cited: bool = False
    hedged: bool = False
    benefit: bool = True             # the clause words a benefit / a success
    research: bool = False           # the sentence is about research
    inherited: tuple[str, ...] = ()  # conditions of the sentences just before, when the sentence names none

    @property
    def asserted(self) -> bool:
        return self.not_asserted is None


ASSERTED = Reading()


def _clause(text: str, start: int, end: int, breaks: re.Pattern[str] = _CLAUSE_BREAK) -> tuple[int, int]:
    lo, hi = 0, len(text)
    for m in breaks.finditer(text):
        if m.end() <= start:
            lo = m.end()
        elif m.start() >= end:
            hi = min(hi, m.start())
            break
    return lo, hi


def _is_reference(sentences: Sequence[Sentence]) -> list[bool]:
    """Sentences that are entries of a reference list: after a "References" heading, the sentences near an
    author list or a journal/year line (the list ends after three sentences with neither); anywhere, a title
    between an author list and a journal/year line."""
    texts = [s.text.strip() for s in sentences]
    ref_like = [bool(_AUTHORS.match(t) or _JOURNAL_YEAR.search(t)) for t in texts]
    out = [False] * len(sentences)
    zone, misses = False, 0
    for k, t in enumerate(texts):
        if _REFERENCES_HEADING.match(t):
            zone, misses = True, 0
            continue
        near = any(ref_like[max(0, k - 2):k + 3])
        if zone:
            misses = 0 if near else misses + 1
            zone = misses < 3
            out[k] = zone
            continue
        if k and _AUTHORS.match(texts[k - 1]) and texts[k - 1].endswith(".") and any(ref_like[k + 1:k + 3]):
            out[k] = True
    return out


_DQUOTE = re.compile(r'["“”]')


def _quoted_term(text: str, start: int, end: int, max_words: int = 6) -> bool:
    """The claim sits inside a short quotation ('describes the relief as "long-term"')."""
    before = _DQUOTE.findall(text[:start])
    if len(before) % 2 == 0:
        return False
    opening = max(text.rfind(q, 0, start) for q in '"“”')
    closing = _DQUOTE.search(text, end)
    return closing is not None and len(text[opening + 1:closing.start()].split()) <= max_words


def read_claim(claim: Claim, sentence: Sentence | None, *, reference: bool = False,
               previous: tuple[str, ...] = ()) -> Reading:
    """The reading of one claim in its sentence (``sentence.text`` holds ``claim`` at
    ``claim.start - sentence.start``)."""
    if sentence is None:
        return ASSERTED
    text = sentence.text
    start = max(0, claim.start - sentence.start)
    end = start + len(claim.text)
    lo, hi = _clause(text, start, end)
    clause = text[lo:hi]
    dlo, dhi = _clause(text, start, end, _DENIAL_BREAK)
    negated = claim.type in BENEFIT_TYPES and bool(DENIAL.search(text[dlo:dhi]))
    cited = bool(CITED.search(text))
    # a sentence the classifier labels evidential reports evidence, like one that names research
    research = cited or sentence.label == "evidential" or bool(RESEARCH.search(text))
    olo, ohi = _clause(text, start, end, _OTHERS_BREAK)
    not_asserted = None
    if reference:
        not_asserted = "The sentence is the title of a publication in a reference list, not a claim the page makes."
    elif clause.rstrip(" \"'”’)]").endswith("?"):
        not_asserted = "The sentence asks a question; it does not assert the claim."
    elif OTHERS.search(text[olo:ohi]):
        not_asserted = "The page reports what others (clinics, advertising) claim; it does not make the claim itself."
    elif _quoted_term(text, start, end):
        not_asserted = "The page quotes the words (a term in quotation marks); it does not use them as its own claim."
    if claim.type == "efficacy_rate":
        benefit = bool(SUCCESS.search(clause)) and not NOT_A_RATE.search(clause)
    elif claim.type == "sessions":
        benefit = bool(BENEFIT.search(clause))
    elif claim.type == "duration":
        benefit = not (_TIMEPOINT_BEFORE.search(text[:start]) or _TIMEPOINT_AFTER.search(text[end:]))
    elif claim.type == "condition":
        # research topics and regulatory statements need benefit wording; elsewhere the treatment must at least
        # be named (a list item under "Conditions we treat" or a heading is short and names only the condition)
        benefit = bool(BENEFIT.search(clause)) or (
            not (research or REGULATORY.search(text))
            and bool(OFFER.search(clause) or _INTERVENTION.search(text) or len(_words(text)) <= 8))
    else:
        benefit = True
    hedged = bool(HEARSAY.search(clause)) or (claim.type == "safety" and claim.value.get("assertion") == "safe"
                                               and bool(_RARITY.search(clause)))
    return Reading(not_asserted=not_asserted, negated=negated, cited=cited, hedged=hedged,
                   benefit=benefit, research=research, inherited=previous if not claim.context else ())


def read_claims(claims: Sequence[Claim], sentences: Sequence[Sentence]) -> list[Reading]:
    """One reading per claim. ``claim.sentence`` indexes ``sentences``."""
    if not sentences:
        return [ASSERTED for _ in claims]
    refs = _is_reference(sentences)
    ctx: dict[int, list[str]] = {}
    for c in claims:
        for cid in c.context:
            if cid not in ctx.setdefault(c.sentence, []):
                ctx[c.sentence].append(cid)
    out = []
    for c in claims:
        s = sentences[c.sentence] if 0 <= c.sentence < len(sentences) else None
        previous: tuple[str, ...] = ()
        for back in (1, 2):
            if ctx.get(c.sentence - back):
                previous = tuple(ctx[c.sentence - back])
                break
        out.append(read_claim(c, s, reference=refs[c.sentence] if s is not None else False, previous=previous))
    return out


def apply_reading(claim: Claim, reading: Reading) -> Claim:
    """The claim with the reading's flags added (flags the extractor set are kept)."""
    if not (reading.negated or reading.cited or reading.hedged):
        return claim
    return replace(claim, negated=claim.negated or reading.negated, cited=claim.cited or reading.cited,
                   hedged=claim.hedged or reading.hedged)


# --------------------------------------------------------------------------- rules


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


def _rule_verdict(claim: Claim, findings: FindingsFile) -> Verdict:
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


def judge(claim: Claim, findings: FindingsFile, reading: Reading = ASSERTED) -> Verdict:
    """The verdict for one claim, with the finding, its short citation and one sentence of why.
    ``reading`` (from ``read_claims``) says how the sentence presents the claim; its flags should already
    be on the claim (``apply_reading``)."""
    if claim.other_treatment:
        return Verdict("not_assessed", why="The sentence is about another treatment, not ketamine.")
    if reading.not_asserted:
        return Verdict("not_assessed", why=reading.not_asserted)
    verdict = _rule_verdict(claim, findings)
    if reading.inherited and verdict.label != "not_assessed":
        alt = _rule_verdict(replace(claim, context=reading.inherited), findings)
        if alt.label != "not_assessed" and SEVERITY[alt.label] < SEVERITY[verdict.label]:
            verdict = replace(alt, why=f"{alt.why} (Read with the conditions named just before: "
                                       f"{', '.join(reading.inherited)}.)")
    if verdict.label in PROBLEM_VERDICTS and not reading.benefit:
        if claim.type == "efficacy_rate":
            return Verdict("not_assessed", why="The percentage does not count patients who improved (it is not a "
                                               "success rate), so no finding judges it.")
        if claim.type == "sessions":
            return Verdict("not_assessed", why="The sentence mentions a single infusion without promising a "
                                               "benefit from it.")
        if claim.type == "duration":
            return Verdict("not_assessed", why="The duration is the time point at which an outcome was measured, "
                                               "not how long relief lasts.")
        if claim.type == "condition":
            return Verdict("not_assessed", why="The sentence names the condition (as a subject of research, a "
                                               "regulatory status or a description) but does not claim that "
                                               "ketamine helps it.")
    return verdict


def judge_all(claims: Iterable[Claim], findings: FindingsFile,
              readings: Sequence[Reading] | None = None) -> list[Claim]:
    """Judge every claim. With ``readings`` (one per claim, from ``read_claims``) each claim also gets the
    reading's flags."""
    items = list(claims)
    reads = list(readings) if readings is not None else [ASSERTED] * len(items)
    out = []
    for c, r in zip(items, reads):
        c = apply_reading(c, r)
        out.append(replace(c, verdict=judge(c, findings, r)))
    return out


# --------------------------------------------------------------------------- omissions


def promotes(claims: Sequence[Claim], readings: Sequence[Reading] | None = None) -> bool:
    """A page promotes the treatment when its own copy asserts a benefit (condition, duration, efficacy,
    success rate) for ketamine: not negated, not reported from research, not others' claim."""
    reads = list(readings) if readings is not None else [ASSERTED] * len(claims)
    return any(c.type in PROMOTING_TYPES and c.source == "page" and not c.negated and not c.other_treatment
               and not c.cited and r.asserted for c, r in zip(claims, reads))


def omissions(claims: Sequence[Claim], findings: FindingsFile,
              readings: Sequence[Reading] | None = None) -> list[Omission]:
    """Disclosures a promoting page does not make (side effects, abuse risk, off-label status)."""
    if not promotes(claims, readings):
        return []
    out = []
    page_claims = [c for c in claims if c.source == "page"]
    for d in findings.disclosures:
        if not any(matches(c, t.claim, t.when) for c in page_claims for t in d.satisfied_by):
            f = findings.by_id(d.finding)
            out.append(Omission(d.id, d.label, f.id, f.short_citation, d.why_missing))
    return out
