"""Score stage: a 0-100 credibility score per page and per site, from explained components.

credibility = clamp(BASE + sum(component points), 0, 100). Every component is a function of counts that
only ever lowers (penalties) or only ever raises (credits) the score, so the score is monotone:
adding a contradicted claim never raises it; adding an accurate risk disclosure never lowers it.

Penalties (page's own copy; claims quoted from reviews are shown, not scored as the page's claims):
- contradicted claims  -12 each (at most -48)
- overstated claims     -6 each (at most -30)
- unsupported claims    -4 each (at most -20)
- unsourced success rates  -3 each (at most -9): a percentage of responders with no study cited
- promotional share     -30 x share of sentences labelled promotional
- testimonials          -2 each on a clinic's own page (at most -10)
- missing disclosures   -5 each (side effects, abuse/dependence risk, off-label status), promoting pages only
Credits (the JAMA benchmarks for health web pages: authorship, attribution, currency; plus disclosure):
- citations to studies   +3 per sentence citing a study or guideline (at most +15)
- risk disclosures       +4 each kind disclosed (side effects, abuse risk, contraindications, off-label/
                         controlled status), accurate statements only (at most +16)
- evidential share       +10 x share of sentences labelled evidential
- named author +4, publication date +3
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from statistics import mean
from typing import Sequence

from .check import ASSERTED, Reading
from .records import Claim, Document, Omission, Score, ScoreComponent, Sentence

BASE = 60.0
#: A sentence that points to a specific publication: a reference ("et al", "(2019)", "2019;129", a DOI, a PMID),
#: a named author ("Sigtermans and colleagues") or a dated study ("a 2019 meta-analysis", "the 2018 guideline").
CITATION_RX = re.compile(
    r"\bet\s+al\b|\(\s*(?:19|20)\d\d\s*\)|\bdoi\b|\b10\.\d{4,}/|\b(?:19|20)\d\d\s*;\s*\d|\bPMID\b"
    r"|\b[A-Z][a-z]+\s+and\s+colleagues\b"
    r"|\b(?:19|20)\d\d\s+(?:[\w-]+\s+){0,3}?(?:study|trial|review|meta-analysis|analysis|guidelines?|cohort)\b", re.I
)
_DISCLOSURE_KINDS = {
    "side_effects_disclosed": "side effects",
    "abuse_risk_disclosed": "abuse or dependence risk",
    "contraindications_disclosed": "contraindications",
    "off_label": "off-label status",
    "controlled_substance": "controlled-substance status",
}


@dataclass(frozen=True, slots=True)
class PageFacts:
    """Everything the score reads, so the score can be tested without any NLP."""

    sentences: Sequence[Sentence]
    claims: Sequence[Claim]
    omissions: Sequence[Omission]
    n_testimonials: int
    kind: str
    author: str | None
    published: str | None
    #: how each claim's sentence presents it (``check.read_claims``), aligned with ``claims``; empty: all asserted
    readings: Sequence[Reading] = ()


def _component(name: str, points: float, why: str, sentences: Sequence[int] = ()) -> ScoreComponent:
    return ScoreComponent(name, round(points, 1), why, tuple(sorted(set(sentences))))


def score_page(facts: PageFacts) -> Score:
    comps: list[ScoreComponent] = []
    reads = list(facts.readings) or [ASSERTED] * len(facts.claims)
    own = [c for c, r in zip(facts.claims, reads) if c.source == "page" and c.verdict is not None and r.asserted]
    benefit = {id(c): r.benefit for c, r in zip(facts.claims, reads)}
    for label, each, cap in (("contradicted", 12, 48), ("overstated", 6, 30), ("unsupported", 4, 20)):
        hits = [c for c in own if c.verdict and c.verdict.label == label]
        if hits:
            pts = -min(cap, each * len(hits))
            comps.append(_component(f"{label}_claims", pts,
                                    f"{len(hits)} claim(s) {label} by the consensus findings ({each} points each, "
                                    f"at most {cap}).", [c.sentence for c in hits]))
    rates = [c for c in own if c.type == "efficacy_rate" and not c.cited and not c.other_treatment and not c.negated
             and benefit.get(id(c), True)]
    if rates:
        comps.append(_component("unsourced_success_rates", -min(9, 3 * len(rates)),
                                f"{len(rates)} success rate(s) given without a cited study.", [c.sentence for c in rates]))
    n = len(facts.sentences)
    prom = [s.i for s in facts.sentences if s.label == "promotional"]
    evid = [s.i for s in facts.sentences if s.label == "evidential"]
    if n and prom:
        share = len(prom) / n
        comps.append(_component("promotional_share", -30 * share,
                                f"{len(prom)} of {n} sentences are promotional ({share:.0%}).", prom))
    if facts.kind == "clinic" and facts.n_testimonials:
        comps.append(_component("testimonials", -min(10, 2 * facts.n_testimonials),
                                f"The clinic's page carries {facts.n_testimonials} testimonial(s), which are "
                                "anecdotes selected to sell."))
    if facts.omissions:
        comps.append(_component("missing_disclosures", -5 * len(facts.omissions),
                                "Promotes the treatment without disclosing: "
                                + "; ".join(o.label for o in facts.omissions) + "."))
    cited = [s.i for s in facts.sentences if CITATION_RX.search(s.text)]
    if cited:
        comps.append(_component("citations", min(15, 3 * len(cited)),
                                f"{len(cited)} sentence(s) cite a study or guideline.", cited))
    kinds: dict[str, list[int]] = defaultdict(list)
    for c in own:
        a = c.value.get("assertion")
        if a in _DISCLOSURE_KINDS and c.verdict and c.verdict.label == "consistent" and not c.negated:
            kinds[_DISCLOSURE_KINDS[a]].append(c.sentence)
    if kinds:
        comps.append(_component("risk_disclosures", min(16, 4 * len(kinds)),
                                "Discloses " + ", ".join(sorted(kinds)) + ".", [i for v in kinds.values() for i in v]))
    if n and evid:
        share = len(evid) / n
        comps.append(_component("evidential_share", 10 * share,
                                f"{len(evid)} of {n} sentences report evidence ({share:.0%}).", evid))
    if facts.author:
        comps.append(_component("authorship", 4, f"Names its author ({facts.author})."))
    if facts.published:
        comps.append(_component("dated", 3, f"Gives a publication date ({facts.published})."))
    total = max(0.0, min(100.0, BASE + sum(c.points for c in comps)))
    prom_share = round(len(prom) / n, 4) if n else 0.0
    return Score(credibility=round(total, 1), promotional_share=prom_share,
                 label=_page_label(prom_share, len(evid) / n if n else 0.0), components=tuple(comps))


def _page_label(prom: float, evid: float) -> str:
    if prom >= 1 / 3:
        return "promotional"
    if evid >= 1 / 3 and prom < 1 / 6:
        return "evidential"
    return "mixed" if prom >= 1 / 6 else "neutral"


def score_site(documents: Sequence[Document]) -> Score:
    """A site's score: the mean of its pages' scores, with components summed over its pages."""
    scored = [d for d in documents if d.score is not None]
    if not scored:
        return Score(credibility=0.0, promotional_share=0.0, label="neutral")
    totals: dict[str, float] = defaultdict(float)
    pages: dict[str, int] = defaultdict(int)
    for d in scored:
        for c in d.score.components:  # type: ignore[union-attr]
            totals[c.name] += c.points
            pages[c.name] += 1
    comps = tuple(
        ScoreComponent(name, round(totals[name] / len(scored), 1),
                       f"mean over {len(scored)} page(s); present on {pages[name]}")
        for name in sorted(totals, key=lambda k: totals[k])
    )
    share = mean(d.score.promotional_share for d in scored)  # type: ignore[union-attr]
    cred = mean(d.score.credibility for d in scored)  # type: ignore[union-attr]
    return Score(credibility=round(cred, 1), promotional_share=round(share, 4),
                 label=_page_label(share, 0.0), components=comps)
