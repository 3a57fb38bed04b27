"""Static HTML + CSV report of one run. Pure: records in, files out (no database, no network, no clock).

``write_report`` writes into ``out_dir``:

- ``index.html``: one self-contained page (inline CSS, inline SVG chart, no JavaScript, printable).
  For journalists, per site then per page: the credibility score with its explained components,
  omissions, every problem claim first (quote in context with the claim highlighted, verdict, finding,
  citation, the archived snapshot), consistent claims collapsed, reviews apart. For analysts: a site
  summary, verdict counts by claim type, the skipped URLs and, given the previous run's documents,
  what changed since then.
- ``claims.csv``: one row per claim (page and review claims), numbered as ``claims.claim_no`` in the store.
- ``pages.csv``: one row per page.

Text cells of the CSV files that a spreadsheet would run as a formula (starting with ``= + - @``) are
prefixed with ``'``; use ``claimaudit export`` for the exact stored values.
"""

from __future__ import annotations

import csv
import json
import logging
import os
import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from .records import (
    CLAIM_TYPES, PROBLEM_VERDICTS, VERDICT_LABELS, Claim, Document, Fetch, Review, ScoreComponent, Sentence, Skipped,
)

LOGGER = logging.getLogger(__name__)

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
PROBLEM_ORDER = ("contradicted", "overstated", "unsupported")  # most serious first
CONTEXT_CHARS = 280  # characters of context kept on each side of a claim in a very long sentence


# --------------------------------------------------------------------------------------------- view model


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Where the analysed bytes are archived."""

    sha256: str
    fetched_at: str | None
    warc_file: str | None
    warc_offset: int | None
    status: int | None


@dataclass(frozen=True, slots=True)
class ClaimView:
    no: int
    claim: Claim
    quote: Markup
    quote_ok: bool  # the offsets matched the text; False means the quote was found by search or not at all
    review_no: int | None
    url: str
    site: str

    @property
    def label(self) -> str:
        return self.claim.verdict.label if self.claim.verdict else "not_assessed"

    @property
    def value_text(self) -> str:
        return ", ".join(f"{k}: {v}" for k, v in self.claim.value.items() if v is not None)


@dataclass(slots=True)
class PageView:
    anchor: str
    doc: Document
    snapshot: Snapshot
    problems: list[ClaimView] = field(default_factory=list)
    consistent: list[ClaimView] = field(default_factory=list)
    unassessed: list[ClaimView] = field(default_factory=list)
    review_claims_on_page: list[ClaimView] = field(default_factory=list)
    reviews: list[tuple[Review, list[ClaimView]]] = field(default_factory=list)
    components: list[tuple[ScoreComponent, list[Sentence]]] = field(default_factory=list)

    @property
    def all_claims(self) -> list[ClaimView]:
        out = self.problems + self.consistent + self.unassessed + self.review_claims_on_page
        out += [cv for _, cvs in self.reviews for cv in cvs]
        return sorted(out, key=lambda cv: cv.no)

    @property
    def n_problem(self) -> int:
        return sum(cv.label in PROBLEM_VERDICTS for cv in self.all_claims)


@dataclass(slots=True)
class SiteView:
    anchor: str
    site: str
    pages: list[PageView]
    name: str = ""  # the source's name from the sources file, when the fetches carry it

    @property
    def title(self) -> str:
        return f"{self.name} ({self.site})" if self.name and self.name != self.site else self.site

    @property
    def scores(self) -> list[float]:
        return [p.doc.score.credibility for p in self.pages if p.doc.score is not None]

    @property
    def mean_credibility(self) -> float | None:
        return statistics.fmean(self.scores) if self.scores else None

    @property
    def min_credibility(self) -> float | None:
        return min(self.scores) if self.scores else None

    def verdicts(self) -> Counter[str]:
        return Counter(cv.label for p in self.pages for cv in p.all_claims)

    @property
    def n_omissions(self) -> int:
        return sum(len(p.doc.omissions) for p in self.pages)


def _window(text: str, start: int, end: int) -> tuple[str, int, int, bool, bool]:
    """Cut ``text`` to CONTEXT_CHARS around [start, end) at word boundaries; return the cut and new offsets."""
    lo, hi = max(0, start - CONTEXT_CHARS), min(len(text), end + CONTEXT_CHARS)
    if lo > 0:
        space = text.find(" ", lo, start)
        lo = space + 1 if space != -1 else lo
    if hi < len(text):
        space = text.rfind(" ", end, hi)
        hi = space if space != -1 else hi
    return text[lo:hi], start - lo, end - lo, lo > 0, hi < len(text)


def highlight(context: str, start: int, end: int) -> Markup:
    """``context`` with ``[start, end)`` wrapped in <mark>, everything escaped."""
    cut, s, e, head, tail = _window(context, start, end)
    return Markup("{}{}<mark>{}</mark>{}{}").format(
        "… " if head else "", cut[:s].lstrip() if head else cut[:s], cut[s:e],
        cut[e:].rstrip() if tail else cut[e:], " …" if tail else "",
    )


def _quote(claim: Claim, text: str, sentence: Sentence | None) -> tuple[Markup, bool]:
    """The claim highlighted in its sentence (or in the surrounding text), computed from its offsets."""
    if sentence is not None and sentence.start <= claim.start <= claim.end <= sentence.end:
        s, e = claim.start - sentence.start, claim.end - sentence.start
        if sentence.text[s:e] == claim.text:
            return highlight(sentence.text, s, e), True
    if 0 <= claim.start <= claim.end <= len(text) and text[claim.start:claim.end] == claim.text:
        return highlight(text, claim.start, claim.end), True  # no usable sentence: the surrounding text
    for haystack in ([sentence.text] if sentence is not None else []) + [text]:
        pos = haystack.find(claim.text) if claim.text else -1
        if pos != -1:
            return highlight(haystack, pos, pos + len(claim.text)), False
    return Markup("<mark>{}</mark>").format(claim.text), False


def _fetch_index(fetches: Sequence[Fetch]) -> dict[str, list[Fetch]]:
    by_sha: dict[str, list[Fetch]] = {}
    for f in fetches:
        by_sha.setdefault(f.sha256, []).append(f)
    return by_sha


def _snapshot(doc: Document, by_sha: dict[str, list[Fetch]]) -> Snapshot:
    """The fetch that archived the document's bytes: same sha256, preferably the same URL."""
    same = by_sha.get(doc.sha256, [])
    exact = [f for f in same if doc.url in (f.url, f.final_url)]
    f = (exact or same or [None])[-1]
    if f is None:
        return Snapshot(doc.sha256, doc.fetched_at, None, None, None)
    return Snapshot(doc.sha256, f.fetched_at or doc.fetched_at, f.warc_file, f.warc_offset, f.status)


def _page_view(anchor: str, doc: Document, by_sha: dict[str, list[Fetch]]) -> PageView:
    page = PageView(anchor=anchor, doc=doc, snapshot=_snapshot(doc, by_sha))
    sentences = {s.i: s for s in doc.sentences}
    no = 0
    for claim in doc.claims:
        quote, ok = _quote(claim, doc.text, sentences.get(claim.sentence))
        cv = ClaimView(no, claim, quote, ok, None, doc.url, doc.site)
        no += 1
        if claim.source == "review":
            page.review_claims_on_page.append(cv)
        elif cv.label in PROBLEM_VERDICTS:
            page.problems.append(cv)
        elif cv.label == "consistent":
            page.consistent.append(cv)
        else:
            page.unassessed.append(cv)
    page.problems.sort(key=lambda cv: (PROBLEM_ORDER.index(cv.label), cv.claim.start))
    for r_no, review in enumerate(doc.reviews):
        cvs = []
        for claim in review.claims:
            quote, ok = _quote(claim, review.text, None)
            cvs.append(ClaimView(no, claim, quote, ok, r_no, doc.url, doc.site))
            no += 1
        cvs.sort(key=lambda cv: (cv.label not in PROBLEM_VERDICTS, cv.no))
        page.reviews.append((review, cvs))
    if doc.score is not None:
        page.components = [
            (c, [sentences[i] for i in c.sentences if i in sentences]) for c in doc.score.components
        ]
    return page


def _sites(documents: Sequence[Document], fetches: Sequence[Fetch]) -> list[SiteView]:
    by_site: dict[str, list[Document]] = {}
    for doc in sorted(documents, key=lambda d: (d.site, d.url)):
        by_site.setdefault(doc.site, []).append(doc)
    by_sha = _fetch_index(fetches)
    names: dict[str, str] = {}
    for f in fetches:
        if f.source:
            names.setdefault(urlsplit(f.final_url or f.url).netloc, f.source)
    sites, n = [], 0
    for s_no, (site, docs) in enumerate(by_site.items()):
        pages = []
        for doc in docs:
            pages.append(_page_view(f"page-{n}", doc, by_sha))
            n += 1
        sites.append(SiteView(f"site-{s_no}", site, pages, names.get(site, "")))
    return sites


# --------------------------------------------------------------------------------------------- analyst views


def _verdicts_by_type(sites: Sequence[SiteView]) -> list[dict[str, Any]]:
    counts: dict[str, Counter[str]] = {}
    reviews: Counter[str] = Counter()
    for site in sites:
        for page in site.pages:
            for cv in page.all_claims:
                counts.setdefault(cv.claim.type, Counter())[cv.label] += 1
                reviews[cv.claim.type] += cv.claim.source == "review" or cv.review_no is not None
    order = [t for t in CLAIM_TYPES if t in counts] + sorted(set(counts) - set(CLAIM_TYPES))
    return [
        {"type": t, "counts": [counts[t][v] for v in VERDICT_LABELS], "total": sum(counts[t].values()),
         "reviews": reviews[t]}
        for t in order
    ]


def _claim_key(cv: ClaimView) -> tuple[str, str, str, str]:
    return (cv.url, "review" if cv.review_no is not None or cv.claim.source == "review" else "page",
            cv.claim.type, " ".join(cv.claim.text.lower().split()))


@dataclass(slots=True)
class Changes:
    n_previous: int
    new_pages: list[Document]
    removed_pages: list[Document]
    changed_pages: list[tuple[Document, Document]]  # (previous, current), sha256 differs
    score_changes: list[tuple[Document, float | None, float | None]]  # (current, before, now)
    new_problems: list[tuple[ClaimView, str | None]]  # (claim, label before or None)
    resolved_problems: list[tuple[ClaimView, str | None]]  # (previous claim, label now or None = gone)
    verdict_changes: list[tuple[ClaimView, str]]  # (current claim, previous problem label)

    @property
    def empty(self) -> bool:
        return not (self.new_pages or self.removed_pages or self.changed_pages or self.score_changes
                    or self.new_problems or self.resolved_problems or self.verdict_changes)


def _changes(sites: Sequence[SiteView], previous: Sequence[Document]) -> Changes:
    now = {p.doc.url: p for s in sites for p in s.pages}
    before = {p.doc.url: p for s in _sites(previous, []) for p in s.pages}
    score = lambda d: d.score.credibility if d.score is not None else None  # noqa: E731
    changed = [(before[u].doc, now[u].doc) for u in now if u in before and before[u].doc.sha256 != now[u].doc.sha256]
    scores = [
        (now[u].doc, score(before[u].doc), score(now[u].doc))
        for u in now if u in before and score(before[u].doc) != score(now[u].doc)
    ]
    scores.sort(key=lambda t: (-abs((t[2] or 0) - (t[1] or 0)), t[0].url))
    old_claims = {_claim_key(cv): cv for p in before.values() for cv in p.all_claims}
    new_claims = {_claim_key(cv): cv for p in now.values() for cv in p.all_claims}
    new_problems, resolved, relabelled = [], [], []
    for key, cv in new_claims.items():
        old = old_claims.get(key)
        if cv.label in PROBLEM_VERDICTS and (old is None or old.label not in PROBLEM_VERDICTS):
            new_problems.append((cv, old.label if old else None))
        elif cv.label in PROBLEM_VERDICTS and old is not None and old.label != cv.label:
            relabelled.append((cv, old.label))
    for key, old in old_claims.items():
        cur = new_claims.get(key)
        if old.label in PROBLEM_VERDICTS and (cur is None or cur.label not in PROBLEM_VERDICTS):
            resolved.append((old, cur.label if cur else None))
    return Changes(
        n_previous=len(before),
        new_pages=[now[u].doc for u in now if u not in before],
        removed_pages=[before[u].doc for u in before if u not in now],
        changed_pages=changed, score_changes=scores,
        new_problems=new_problems, resolved_problems=resolved, verdict_changes=relabelled,
    )


# --------------------------------------------------------------------------------------------- chart


def _chart_svg(sites: Sequence[SiteView]) -> tuple[Markup, str]:
    """Mean credibility per site as inline SVG, and a note saying how it was drawn."""
    rows = [{"site": s.site, "credibility": round(s.mean_credibility, 1), "pages": len(s.scores)}
            for s in sites if s.mean_credibility is not None]
    if not rows:
        return Markup(""), "no scored pages"
    try:
        # Preferred: altair spec rendered to SVG by vl-convert-python (works offline, bundles Vega).
        import altair as alt
        import vl_convert as vlc

        height = 26 * len(rows)
        base = alt.Chart(alt.Data(values=rows)).encode(
            y=alt.Y("site:N", sort="x", title=None, axis=alt.Axis(labelLimit=260, labelFontSize=12)),
            x=alt.X("credibility:Q", scale=alt.Scale(domain=[0, 100]), title="mean credibility (0-100)"),
        )
        bars = base.mark_bar(color="#3b6ea8", height=16)
        labels = base.mark_text(align="left", dx=4, fontSize=12).encode(text=alt.Text("credibility:Q", format=".0f"))
        chart = (bars + labels).properties(width=520, height=height, background="white")
        svg = vlc.vegalite_to_svg(chart.to_dict())
        if not svg.lstrip().startswith("<svg") or "<script" in svg.lower():
            raise ValueError("unexpected SVG from vl-convert")
        return Markup(svg), f"altair {alt.__version__} chart rendered to SVG by vl-convert-python {vlc.__version__}"
    except Exception as err:  # noqa: BLE001 - any failure falls back to the hand-built chart
        LOGGER.warning("vl-convert chart failed (%s); drawing the chart by hand", err)
        return _hand_svg(rows), f"hand-built SVG bar chart (vl-convert failed: {type(err).__name__})"


def _hand_svg(rows: list[dict[str, Any]]) -> Markup:
    rows = sorted(rows, key=lambda r: r["credibility"])
    label_w, bar_w, row_h = 220, 380, 26
    height = row_h * len(rows) + 30
    parts = [Markup(
        '<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{w}" height="{h}" viewBox="0 0 {w} {h}" '
        'font-family="sans-serif" font-size="12"><title>Mean credibility per site</title>'
    ).format(w=label_w + bar_w + 50, h=height)]
    for n, row in enumerate(rows):
        y = n * row_h
        width = bar_w * max(0.0, min(100.0, row["credibility"])) / 100
        parts.append(Markup(
            '<text x="{lx}" y="{ty}" text-anchor="end">{site}</text>'
            '<rect x="{x}" y="{y}" width="{bw:.1f}" height="16" fill="#3b6ea8"/>'
            '<text x="{vx:.1f}" y="{ty}">{v:.0f}</text>'
        ).format(lx=label_w - 6, ty=y + 13, site=row["site"], x=label_w, y=y + 2, bw=width,
                 vx=label_w + width + 4, v=row["credibility"]))
    axis_y = row_h * len(rows) + 4
    for tick in (0, 25, 50, 75, 100):
        x = label_w + bar_w * tick / 100
        parts.append(Markup('<line x1="{x}" x2="{x}" y1="0" y2="{y}" stroke="#bbb"/>'
                            '<text x="{x}" y="{ty}" text-anchor="middle">{t}</text>').format(
            x=x, y=axis_y, ty=axis_y + 14, t=tick))
    parts.append(Markup("</svg>"))
    return Markup("").join(parts)


# --------------------------------------------------------------------------------------------- CSV


def _cell(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else value


def _write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows([_cell(v) for v in row] for row in rows)
    os.replace(tmp, path)


CLAIMS_CSV = (
    "run_id", "site", "url", "sha256", "fetched_at", "warc_file", "warc_offset", "claim_no", "source",
    "review_no", "type", "text", "start", "end", "sentence", "value", "hedged", "negated", "cited", "context",
    "verdict", "finding", "citation", "why",
)
PAGES_CSV = (
    "run_id", "site", "url", "final_url", "title", "sha256", "fetched_at", "warc_file", "warc_offset",
    "credibility", "promotional_share", "page_label", "n_claims", "n_problem_claims", "n_contradicted",
    "n_overstated", "n_unsupported", "n_reviews", "omissions",
)


def _claim_rows(run_id: str, sites: Sequence[SiteView]) -> Iterable[list[Any]]:
    for site in sites:
        for page in site.pages:
            snap = page.snapshot
            for cv in page.all_claims:
                c, v = cv.claim, cv.claim.verdict
                yield [
                    run_id, site.site, page.doc.url, snap.sha256, snap.fetched_at, snap.warc_file, snap.warc_offset,
                    cv.no, c.source, cv.review_no, c.type, c.text, c.start, c.end, c.sentence,
                    json.dumps(c.value, ensure_ascii=False, sort_keys=True), c.hedged, c.negated, c.cited,
                    ";".join(c.context), v.label if v else "", v.finding if v else "", v.citation if v else "",
                    v.why if v else "",
                ]


def _page_rows(run_id: str, sites: Sequence[SiteView]) -> Iterable[list[Any]]:
    for site in sites:
        for page in site.pages:
            d, snap, score = page.doc, page.snapshot, page.doc.score
            labels = Counter(cv.label for cv in page.all_claims)
            yield [
                run_id, site.site, d.url, d.final_url, d.title, snap.sha256, snap.fetched_at, snap.warc_file,
                snap.warc_offset, score.credibility if score else None, score.promotional_share if score else None,
                score.label if score else None, len(page.all_claims), page.n_problem, labels["contradicted"],
                labels["overstated"], labels["unsupported"], len(d.reviews), ";".join(o.id for o in d.omissions),
            ]


# --------------------------------------------------------------------------------------------- entry point


def _env() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR), autoescape=True, undefined=StrictUndefined,
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
    )
    env.filters["pct"] = lambda x: "–" if x is None else f"{100 * x:.0f}%"
    env.filters["num"] = lambda x, nd=0: "–" if x is None else f"{x:.{nd}f}"
    env.filters["signed"] = lambda x: "–" if x is None else f"{x:+g}"
    env.filters["label"] = lambda s: str(s).replace("_", " ")
    return env


def render_html(
    run: dict[str, Any],
    documents: Sequence[Document],
    fetches: Sequence[Fetch],
    skipped: Sequence[Skipped],
    previous: Sequence[Document] | None = None,
    previous_run: dict[str, Any] | None = None,
) -> str:
    """The report page as a string (see ``write_report``)."""
    return _render(_sites(documents, fetches), run, documents, fetches, skipped, previous, previous_run)


def _render(
    sites: list[SiteView],
    run: dict[str, Any],
    documents: Sequence[Document],
    fetches: Sequence[Fetch],
    skipped: Sequence[Skipped],
    previous: Sequence[Document] | None,
    previous_run: dict[str, Any] | None,
) -> str:
    models = sorted({d.model for d in documents if d.model})
    findings = sorted({d.findings_version for d in documents if d.findings_version})
    chart, chart_note = _chart_svg(sites)
    statuses = Counter(f.status for f in fetches)
    return _env().get_template("report.html.j2").render(
        run=run,
        run_id=run.get("run_id") or "",
        model=run.get("model") or ", ".join(models) or None,
        findings_version=run.get("findings_version") or ", ".join(findings) or None,
        sites=sites,
        n_pages=len(documents),
        n_problem=sum(p.n_problem for s in sites for p in s.pages),
        problem_counts=sum((s.verdicts() for s in sites), Counter()),
        verdict_labels=VERDICT_LABELS,
        problem_order=PROBLEM_ORDER,
        by_type=_verdicts_by_type(sites),
        skipped=sorted(skipped, key=lambda s: (s.stage, s.url)),
        fetch_statuses=sorted(statuses.items()),
        n_fetches=len(fetches),
        changes=_changes(sites, previous) if previous is not None else None,
        previous_run=previous_run,
        chart=chart,
        chart_note=chart_note,
    )


def write_report(
    out_dir: Path | str,
    run: dict[str, Any],
    documents: list[Document],
    fetches: list[Fetch],
    skipped: list[Skipped],
    previous: list[Document] | None = None,
    *,
    previous_run: dict[str, Any] | None = None,
) -> Path:
    """Write ``index.html``, ``claims.csv`` and ``pages.csv`` into ``out_dir``; return the HTML path.

    ``run`` is a ``runs`` row (``store.get_run``): run_id, started_at, finished_at, status,
    claimaudit_version, model, findings_version, sources_file; missing keys are shown as "–".
    ``previous`` (the documents of the run to compare with, ``previous_run`` its row) adds the
    "what changed since the last run" section.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    sites = _sites(documents, fetches)
    html = _render(sites, run, documents, fetches, skipped, previous, previous_run)
    index = out / "index.html"
    tmp = index.with_name("index.html.tmp")
    tmp.write_text(html, encoding="utf-8")
    os.replace(tmp, index)
    run_id = run.get("run_id") or ""
    _write_csv(out / "claims.csv", CLAIMS_CSV, _claim_rows(run_id, sites))
    _write_csv(out / "pages.csv", PAGES_CSV, _page_rows(run_id, sites))
    LOGGER.info("report of run %s: %d pages written to %s", run_id, len(documents), index)
    return index
