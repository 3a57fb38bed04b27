"""Prefect orchestration of the claimaudit stages. Wiring only: every task wraps one plain function
from ``pipeline``; remove the decorators and the same code runs without Prefect.

- crawl is I/O: retried with back-off; sources are crawled concurrently (one host each, so the
  per-host delay still holds), each into its own WARC file;
- analysis is deterministic: no retries; the spaCy pipeline, the classifier and the findings are
  loaded once per flow run and shared;
- store and report are local I/O.

``audit`` is the whole run (``claimaudit run`` / ``demo``); ``crawl_only`` crawls and archives
(``claimaudit crawl``); ``serve`` registers a scheduled deployment (``claimaudit serve``).
"""


# No `from __future__ import annotations` here: Prefect builds the flow's parameter model from these
# annotations when a deployment's runner loads this module, and a string annotation does not resolve there.
import os

# Library log lines (every per-page line names its URL) go to the Prefect run logs too.
os.environ.setdefault("PREFECT_LOGGING_EXTRA_LOGGERS", "pipeline")
# Offline by default: no analytics or telemetry, no UI on the temporary server (the user's env wins).
for _key, _value in (("PREFECT_SERVER_ANALYTICS_ENABLED", "false"), ("DO_NOT_TRACK", "1"),
                     ("PREFECT_SERVER_UI_ENABLED", "false"), ("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")):
    os.environ.setdefault(_key, _value)

from pathlib import Path  # noqa: E402

from prefect import flow, task  # noqa: E402
from prefect.cache_policies import NO_CACHE  # noqa: E402
from prefect.task_runners import ThreadPoolTaskRunner  # noqa: E402
from pydantic import BaseModel  # noqa: E402

from pipeline import analyze, audit, sources, store  # noqa: E402
from pipeline.records import Document, Fetch, Skipped  # noqa: E402
from pipeline.settings import Settings, load_settings  # noqa: E402


class AuditRequest(BaseModel):
    """Typed flow parameters (Prefect validates them)."""

    sources_file: str
    db: str | None = None
    archive: str | None = None
    out: str | None = None
    settings_file: str | None = None
    delay_seconds: float | None = None
    resume: str | None = None  # a run id, or "latest": continue an unfinished run of this sources file


def _settings(req: AuditRequest) -> Settings:
    return load_settings(Path(req.settings_file) if req.settings_file else None, db=req.db, archive=req.archive,
                         delay_seconds=req.delay_seconds)


crawl_source = task(audit.crawl_source, name="crawl-source", retries=2, retry_delay_seconds=[2, 10],
                    cache_policy=NO_CACHE, task_run_name="crawl {source.name}")
save_crawl = task(audit.save_crawl, name="store-crawl", retries=1, retry_delay_seconds=2, cache_policy=NO_CACHE)
load_resources = task(analyze.load_resources, name="load-resources", cache_policy=NO_CACHE)
analyze_fetches = task(audit.analyze_fetches, name="analyze", cache_policy=NO_CACHE)
build_report = task(audit.build_report, name="report", cache_policy=NO_CACHE)


@task(name="store", cache_policy=NO_CACHE, retries=1, retry_delay_seconds=2)
def save(settings: Settings, run_id: str, results: list[Document | Skipped], failed: int) -> None:
    con = store.open_db(settings.db)
    try:
        store.save_documents(con, run_id, [r for r in results if isinstance(r, Document)])
        store.save_skipped(con, run_id, [r for r in results if isinstance(r, Skipped)])
        store.finish_run(con, run_id, "partial" if failed else "ok")
    finally:
        con.close()


def _crawl_all(settings: Settings, req: AuditRequest) -> tuple[str, list[Fetch], list[Skipped]]:
    """Crawl every source not yet crawled by this run, concurrently; store each as it ends."""
    srcs = sources.load_sources(Path(req.sources_file), settings)
    run_id, done = audit.begin_run(settings.db, req.sources_file, srcs, settings, req.resume)
    futures = [crawl_source.submit(s, settings, run_id) for s in srcs if s.name not in done]
    for fut in futures:
        save_crawl(settings.db, run_id, fut.result())
    fetches, skips = audit.load_crawl(settings.db, run_id)
    return run_id, fetches, skips


def _summary(run_id: str, fetches: list[Fetch], skipped: list[Skipped], n_documents: int) -> audit.RunSummary:
    failures = [f"{s.url} ({s.stage}: {s.reason})" for s in skipped if audit.is_failure(s)]
    return audit.RunSummary(run_id=run_id, n_fetched=len(fetches), n_documents=n_documents, n_skipped=len(skipped),
                            n_failed=len(failures), failures=failures)


@flow(name="claimaudit-audit", task_runner=ThreadPoolTaskRunner(max_workers=4), log_prints=True)
def audit_flow(req: AuditRequest) -> dict:
    """crawl -> archive -> extract -> analyze -> check -> score -> store -> report"""
    settings = _settings(req)
    res = load_resources.submit(settings)
    run_id, fetches, crawl_skips = _crawl_all(settings, req)
    results = analyze_fetches(fetches, res.result(), settings)
    skipped = crawl_skips + [r for r in results if isinstance(r, Skipped)]
    summary = _summary(run_id, fetches, skipped, sum(isinstance(r, Document) for r in results))
    save(settings, run_id, results, summary.n_failed)
    out = Path(req.out) if req.out else settings.reports / run_id
    summary.report = str(build_report(settings.db, out, run_id))
    return summary.__dict__


@flow(name="claimaudit-crawl", task_runner=ThreadPoolTaskRunner(max_workers=4))
def crawl_flow(req: AuditRequest) -> dict:
    """crawl -> archive -> store the fetches (no analysis)"""
    settings = _settings(req)
    run_id, fetches, skips = _crawl_all(settings, req)
    summary = _summary(run_id, fetches, skips, 0)
    save(settings, run_id, [], summary.n_failed)
    return summary.__dict__


def serve(req: AuditRequest, cron: str, name: str = "claimaudit-scheduled") -> None:
    """Register a scheduled deployment of the audit flow and serve it (blocks). Needs a Prefect server
    (``prefect server start``) with PREFECT_API_URL set: a temporary server cannot schedule."""
    audit_flow.serve(name=name, cron=cron, parameters={"req": req.model_dump()})
