"""Plain functions that join the stages for a run; ``flows.py`` wraps them in Prefect tasks and the
CLI calls them directly where no orchestration is needed (``report``, ``analyze URL``).
No Prefect here."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from . import analyze, archive, crawl, report, store
from .errors import BadInput
from .records import Document, Fetch, Skipped, Source
from .settings import Settings

LOGGER = logging.getLogger(__name__)

#: Skips that are the crawler obeying policy or the site's own broken links, not a failure of the run.
_POLICY_REASONS = ("disallowed by robots.txt", "out of scope", "already crawled", "HTTP status 4", "not HTML")


def is_failure(skip: Skipped) -> bool:
    """A skip counts as a failed document (exit code 1) unless it is policy or the site's own 4xx."""
    return not any(skip.reason.startswith(p) for p in _POLICY_REASONS)


def crawl_source(source: Source, settings: Settings, run_id: str) -> list[Fetch | Skipped]:
    """Crawl one source into its own WARC file for this run (sources can run concurrently)."""
    slug = "".join(ch if ch.isalnum() else "-" for ch in source.name.lower()).strip("-")[:40] or "source"
    with archive.WarcArchive(settings.archive, f"{run_id}-{slug}") as warc:
        return list(crawl.crawl(source, settings, warc))


def analyze_fetches(fetches: Sequence[Fetch], res: analyze.Resources, settings: Settings) -> list[Document | Skipped]:
    """Analyse every archived page; bodies are read back from the WARC, so what is analysed is exactly
    what was archived. One bad page becomes a Skipped record and never stops the others."""
    out: list[Document | Skipped] = []
    for f in fetches:
        try:
            if f.status != 200:
                out.append(Skipped(f.url, "fetch", f"HTTP status {f.status}"))
                continue
            _, _, _, body = archive.read_response(settings.archive, f.warc_file, f.warc_offset)
            out.append(analyze.analyze_fetch(f, body, res, settings))
        except Exception as err:  # one bad page never stops a run; it is recorded with its reason
            LOGGER.warning("analysis failed: %s (%s: %s)", f.url, type(err).__name__, err)
            out.append(Skipped(f.url, "analyze", f"error: {type(err).__name__}: {err}"))
    return out


def save_crawl(db: Path, run_id: str, items: Sequence[Fetch | Skipped]) -> None:
    """Store one source's fetches and crawl skips as soon as its crawl ends, so a run that stops
    later can be resumed without crawling that source again."""
    con = store.open_db(db)
    try:
        store.save_fetches(con, run_id, [i for i in items if isinstance(i, Fetch)])
        store.save_skipped(con, run_id, [i for i in items if isinstance(i, Skipped)])
    finally:
        con.close()


def begin_run(db: Path, sources_file: str, sources: Sequence[Source], settings: Settings,
              resume: str | None = None) -> tuple[str, set[str]]:
    """A new run, or the unfinished run to resume ("latest" = the newest unfinished run of this sources
    file): its id and the names of the sources it has already crawled."""
    con = store.open_db(db)
    try:
        if resume is None:
            return store.start_run(con, sources_file, sources, settings), set()
        run_id = store.unfinished_run(con, sources_file) if resume == "latest" else resume
        if run_id is None:
            raise BadInput(f"{db}: no unfinished run of {sources_file} to resume")
        run = store.get_run(con, run_id)
        if run["status"] != "running":
            raise BadInput(f"{db}: run {run_id} already finished ({run['status']}); nothing to resume")
        done = store.crawled_sources(con, run_id)
        LOGGER.info("resuming run %s: %d of %d sources already crawled", run_id, len(done), len(sources))
        return run_id, done
    finally:
        con.close()


def load_crawl(db: Path, run_id: str) -> tuple[list[Fetch], list[Skipped]]:
    """Every fetch and crawl skip the run has stored (from this process and any earlier attempt)."""
    con = store.open_db(db)
    try:
        return store.load_fetches(con, run_id), store.load_skipped(con, run_id)
    finally:
        con.close()


@dataclass
class RunSummary:
    run_id: str
    n_fetched: int = 0
    n_documents: int = 0
    n_skipped: int = 0
    n_failed: int = 0
    report: str | None = None
    failures: list[str] = field(default_factory=list)


def build_report(db: Path, out_dir: Path, run_id: str | None = None) -> Path:
    """Rebuild the HTML report of a run (default: the latest) from the database, compared with the
    run before it when there is one."""
    con = store.open_db(db)
    try:
        run_id = run_id or store.latest_run(con)
        if run_id is None:
            raise BadInput(f"{db}: no finished runs stored yet")
        run = store.get_run(con, run_id)
        previous_id = store.latest_run(con, before=run_id)
        return report.write_report(
            out_dir, run, store.load_documents(con, run_id), store.load_fetches(con, run_id),
            store.load_skipped(con, run_id),
            previous=store.load_documents(con, previous_id) if previous_id else None,
            previous_run=store.get_run(con, previous_id) if previous_id else None,
        )
    finally:
        con.close()
