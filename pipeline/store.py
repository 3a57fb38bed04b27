"""DuckDB storage: one file (``settings.db``) holding every run, fetch and analysed document.

Nothing is ever overwritten. Each run adds rows under its own ``run_id``; a second crawl of a page is a
new snapshot. Saving the same records for the same run twice is idempotent: each ``save_*`` call runs
in one transaction that first deletes what that run stored for those URLs, then bulk-inserts (Arrow).

``run_id`` is the run's UTC start time plus a random suffix, e.g. ``20261121T100000.123456Z-3fa2c1``:
sorting run ids as text sorts runs by start time. Times are ISO-8601 text as recorded
(``2026-11-21T10:00:00Z``), so they round-trip exactly; cast with ``::TIMESTAMPTZ`` where needed.

Schema (one row per ...)::

    runs        run:  run_id, started_at, finished_at, sources_file, status (running|ok|partial|failed),
                      n_fetched, n_documents, n_skipped, model, findings_version, claimaudit_version
    sources     source of a run:  run_id, name, url, kind, max_pages, scope
    fetches     archived HTTP exchange:  run_id, url, final_url, status, fetched_at, content_type,
                      sha256, length, warc_file, warc_offset, headers JSON ([[name, value], ...]), source, kind
    documents   analysed page:  run_id, url, final_url, site, sha256, fetched_at, title, author, published,
                      language, text, credibility, promotional_share, page_label, n_claims, n_problem_claims,
                      model, findings_version, record JSON (the full Document.to_dict(), the source of truth)
    sentences   sentence of a page:  run_id, url, sha256, i, start, "end", text, label, p_promotional
    claims      claim (page and review claims):  run_id, url, sha256, claim_no, type, text, start, "end",
                      sentence, value JSON, hedged, negated, source (page|review), review_no (index into the
                      record's reviews; NULL for page claims), context VARCHAR[], cited
    verdicts    verdict of a claim:  run_id, url, sha256, claim_no, label, finding, citation, why
    scores      credibility score component:  run_id, url, sha256, component, points, why, sentences INTEGER[]
    omissions   missing disclosure:  run_id, url, sha256, id, label, finding, citation, why
    skipped     URL not fetched or not analysed:  run_id, url, stage, reason

``claim_no`` numbers a page's claims in record order: first ``claims``, then each review's ``claims``.
Offsets (``start``/``end``) of page claims and sentences index ``documents.text``; those of review claims
index that review's text. ``n_claims``/``n_problem_claims`` count page and review claims together
(``PROBLEM_VERDICTS``: overstated, contradicted, unsupported).

Join the analysis tables to their document on ``(run_id, url)``, and a document to the fetch it came from
on ``(run_id, url, sha256)``. A DuckDB connection is not safe to share between threads: give each thread
its own ``con.cursor()``.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from . import __version__
from .errors import BadInput
from .records import PROBLEM_VERDICTS, Document, Fetch, Skipped, Source
from .settings import Settings

LOGGER = logging.getLogger(__name__)

RUN_STATUSES = ("running", "ok", "partial", "failed")

# table -> ordered (column, DuckDB type); the Arrow schema used for inserts is derived from it.
SCHEMA: dict[str, tuple[tuple[str, str], ...]] = {
    "runs": (
        ("run_id", "VARCHAR PRIMARY KEY"), ("started_at", "VARCHAR NOT NULL"), ("finished_at", "VARCHAR"),
        ("sources_file", "VARCHAR"), ("status", "VARCHAR NOT NULL"), ("n_fetched", "INTEGER"),
        ("n_documents", "INTEGER"), ("n_skipped", "INTEGER"), ("model", "VARCHAR"),
        ("findings_version", "VARCHAR"), ("claimaudit_version", "VARCHAR"),
    ),
    "sources": (
        ("run_id", "VARCHAR NOT NULL"), ("name", "VARCHAR"), ("url", "VARCHAR NOT NULL"), ("kind", "VARCHAR"),
        ("max_pages", "INTEGER"), ("scope", "VARCHAR"),
    ),
    "fetches": (
        ("run_id", "VARCHAR NOT NULL"), ("url", "VARCHAR NOT NULL"), ("final_url", "VARCHAR"),
        ("status", "INTEGER"), ("fetched_at", "VARCHAR"), ("content_type", "VARCHAR"), ("sha256", "VARCHAR"),
        ("length", "BIGINT"), ("warc_file", "VARCHAR"), ("warc_offset", "BIGINT"), ("headers", "JSON"),
        ("source", "VARCHAR"), ("kind", "VARCHAR"),
    ),
    "documents": (
        ("run_id", "VARCHAR NOT NULL"), ("url", "VARCHAR NOT NULL"), ("final_url", "VARCHAR"),
        ("site", "VARCHAR"), ("sha256", "VARCHAR"), ("fetched_at", "VARCHAR"), ("title", "VARCHAR"),
        ("author", "VARCHAR"), ("published", "VARCHAR"), ("language", "VARCHAR"), ("text", "VARCHAR"),
        ("credibility", "DOUBLE"), ("promotional_share", "DOUBLE"), ("page_label", "VARCHAR"),
        ("n_claims", "INTEGER"), ("n_problem_claims", "INTEGER"), ("model", "VARCHAR"),
        ("findings_version", "VARCHAR"), ("record", "JSON NOT NULL"),
    ),
    "sentences": (
        ("run_id", "VARCHAR NOT NULL"), ("url", "VARCHAR NOT NULL"), ("sha256", "VARCHAR"), ("i", "INTEGER"),
        ("start", "INTEGER"), ("end", "INTEGER"), ("text", "VARCHAR"), ("label", "VARCHAR"),
        ("p_promotional", "DOUBLE"),
    ),
    "claims": (
        ("run_id", "VARCHAR NOT NULL"), ("url", "VARCHAR NOT NULL"), ("sha256", "VARCHAR"),
        ("claim_no", "INTEGER"), ("type", "VARCHAR"), ("text", "VARCHAR"), ("start", "INTEGER"),
        ("end", "INTEGER"), ("sentence", "INTEGER"), ("value", "JSON"), ("hedged", "BOOLEAN"),
        ("negated", "BOOLEAN"), ("source", "VARCHAR"), ("review_no", "INTEGER"), ("context", "VARCHAR[]"),
        ("cited", "BOOLEAN"),
    ),
    "verdicts": (
        ("run_id", "VARCHAR NOT NULL"), ("url", "VARCHAR NOT NULL"), ("sha256", "VARCHAR"),
        ("claim_no", "INTEGER"), ("label", "VARCHAR"), ("finding", "VARCHAR"), ("citation", "VARCHAR"),
        ("why", "VARCHAR"),
    ),
    "scores": (
        ("run_id", "VARCHAR NOT NULL"), ("url", "VARCHAR NOT NULL"), ("sha256", "VARCHAR"),
        ("component", "VARCHAR"), ("points", "DOUBLE"), ("why", "VARCHAR"), ("sentences", "INTEGER[]"),
    ),
    "omissions": (
        ("run_id", "VARCHAR NOT NULL"), ("url", "VARCHAR NOT NULL"), ("sha256", "VARCHAR"), ("id", "VARCHAR"),
        ("label", "VARCHAR"), ("finding", "VARCHAR"), ("citation", "VARCHAR"), ("why", "VARCHAR"),
    ),
    "skipped": (
        ("run_id", "VARCHAR NOT NULL"), ("url", "VARCHAR NOT NULL"), ("stage", "VARCHAR"),
        ("reason", "VARCHAR"),
    ),
}
TABLES: tuple[str, ...] = tuple(SCHEMA)
DOCUMENT_TABLES = ("documents", "sentences", "claims", "verdicts", "scores", "omissions")

_ARROW_TYPES = {
    "VARCHAR": pa.string(), "JSON": pa.string(), "INTEGER": pa.int64(), "BIGINT": pa.int64(),
    "DOUBLE": pa.float64(), "BOOLEAN": pa.bool_(), "VARCHAR[]": pa.list_(pa.string()),
    "INTEGER[]": pa.list_(pa.int64()),
}
_DUCKDB_MAGIC = b"DUCK"  # bytes 8..12 of every DuckDB database file


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _arrow_schema(table: str) -> pa.Schema:
    base = {col: decl.split(" PRIMARY")[0].split(" NOT NULL")[0] for col, decl in SCHEMA[table]}
    return pa.schema([(col, _ARROW_TYPES[typ]) for col, typ in base.items()])


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, allow_nan=False)


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# --------------------------------------------------------------------------------------------- opening


def _check_is_duckdb(path: Path) -> None:
    """Refuse, before DuckDB touches it, a file that is not a DuckDB database."""
    if path.is_dir():
        raise BadInput(f"{path}: is a directory, not a DuckDB database file")
    try:
        with path.open("rb") as fh:
            head = fh.read(12)
    except OSError as err:
        raise BadInput(f"{path}: cannot read database file ({err.strerror or err})") from None
    if head[8:12] != _DUCKDB_MAGIC:
        raise BadInput(f"{path}: not a DuckDB database file (left unchanged)")


def open_db(path: Path | str) -> duckdb.DuckDBPyConnection:
    """Open (or create) the database at ``path``, creating its folder and the schema if missing.

    An existing file that is not a DuckDB database, or a DuckDB database whose tables do not match this
    schema, raises ``BadInput`` naming the file; such a file is left untouched.
    """
    path = Path(path)
    if path.exists():
        _check_is_duckdb(path)
    else:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise BadInput(f"{path}: cannot create the database folder ({err.strerror or err})") from None
    try:
        con = duckdb.connect(str(path))
    except (duckdb.Error, OSError) as err:
        raise BadInput(f"{path}: cannot open database ({str(err).splitlines()[0]})") from None
    try:
        _check_existing_tables(con, path)
        with _transaction(con):
            for table, cols in SCHEMA.items():
                decl = ", ".join(f"{_q(c)} {t}" for c, t in cols)
                con.execute(f"CREATE TABLE IF NOT EXISTS {table} ({decl})")
    except BaseException:
        con.close()
        raise
    return con


def _check_existing_tables(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    rows = con.execute(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = 'main' ORDER BY table_name, ordinal_position"
    ).fetchall()
    have: dict[str, list[str]] = {}
    for table, column in rows:
        have.setdefault(table, []).append(column)
    for table, cols in have.items():
        if table in SCHEMA:
            missing = [c for c, _ in SCHEMA[table] if c not in cols]
            if missing:
                raise BadInput(
                    f"{path}: not a claimaudit database (table {table} lacks {', '.join(missing)})"
                )


@contextmanager
def _transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    con.begin()
    try:
        yield
    except BaseException:
        con.rollback()
        raise
    con.commit()


def _insert(con: duckdb.DuckDBPyConnection, table: str, rows: list[dict[str, Any]]) -> None:
    """Bulk insert through a registered Arrow table (never row by row)."""
    if not rows:
        return
    data = pa.Table.from_pylist(rows, schema=_arrow_schema(table))
    view = f"_claimaudit_insert_{table}_{secrets.token_hex(4)}"
    con.register(view, data)
    try:
        con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM {view}")
    finally:
        con.unregister(view)


def _delete_urls(con: duckdb.DuckDBPyConnection, tables: Iterable[str], run_id: str, urls: Sequence[str]) -> None:
    if not urls:
        return
    for table in tables:
        con.execute(f"DELETE FROM {table} WHERE run_id = ? AND list_contains(?, url)", [run_id, list(urls)])


def _one(con: duckdb.DuckDBPyConnection, query: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
    """First row of a query. Fetches everything: DuckDB 2.0 refuses further work on a connection
    while an ``execute()`` result is only partly read."""
    rows = con.execute(query, list(params)).fetchall()
    return rows[0] if rows else None


def _require_run(con: duckdb.DuckDBPyConnection, run_id: str) -> None:
    if _one(con, "SELECT count(*) FROM runs WHERE run_id = ?", [run_id]) == (0,):
        raise BadInput(f"run {run_id}: no such run in the database")


# --------------------------------------------------------------------------------------------- runs


def new_run_id(now: datetime | None = None) -> str:
    """UTC start time to the microsecond plus 6 random hex digits; sorts in start order."""
    now = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    return now.strftime("%Y%m%dT%H%M%S.%fZ") + "-" + secrets.token_hex(3)


def start_run(
    con: duckdb.DuckDBPyConnection,
    sources_file: Path | str | None,
    sources: Sequence[Source],
    settings: Settings,
    *,
    model: str | None = None,
    findings_version: str | None = None,
) -> str:
    """Record a new run (status ``running``) and its sources; return its ``run_id``.

    ``model``/``findings_version`` are the classifier id and findings digest if the caller knows them;
    otherwise ``model`` starts as the configured model file name, and ``finish_run`` fills both from the
    documents the run saved.
    """
    run_id = new_run_id()
    started = _now()
    run = {
        "run_id": run_id, "started_at": started, "finished_at": None,
        "sources_file": str(sources_file) if sources_file is not None else None, "status": "running",
        "n_fetched": None, "n_documents": None, "n_skipped": None,
        "model": model if model is not None else Path(settings.model).name,
        "findings_version": findings_version, "claimaudit_version": __version__,
    }
    with _transaction(con):
        _insert(con, "runs", [run])
        _insert(con, "sources", [{"run_id": run_id, **s.to_dict()} for s in sources])
    LOGGER.info("run %s started with %d sources from %s", run_id, len(sources), sources_file)
    return run_id


def finish_run(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    status: str,
    *,
    n_fetched: int | None = None,
    n_documents: int | None = None,
    n_skipped: int | None = None,
) -> None:
    """Mark a run finished with ``status`` (ok|partial|failed). Counts left as None are counted from the
    rows saved under the run. The run's model and findings version are taken from its documents when
    they carry them."""
    if status not in RUN_STATUSES:
        raise ValueError(f"status must be one of {', '.join(RUN_STATUSES)}, not {status!r}")
    _require_run(con, run_id)
    with _transaction(con):
        counts = {}
        for name, value, table in (
            ("n_fetched", n_fetched, "fetches"), ("n_documents", n_documents, "documents"),
            ("n_skipped", n_skipped, "skipped"),
        ):
            if value is None:
                row = _one(con, f"SELECT count(*) FROM {table} WHERE run_id = ?", [run_id])
                value = row[0] if row else 0
            counts[name] = value
        versions = _one(
            con,
            "SELECT string_agg(DISTINCT model, ', ' ORDER BY model), "
            "string_agg(DISTINCT findings_version, ', ' ORDER BY findings_version) "
            "FROM documents WHERE run_id = ?",
            [run_id],
        ) or (None, None)
        con.execute(
            "UPDATE runs SET finished_at = ?, status = ?, n_fetched = ?, n_documents = ?, n_skipped = ?, "
            "model = coalesce(?, model), findings_version = coalesce(?, findings_version) WHERE run_id = ?",
            [_now(), status, counts["n_fetched"], counts["n_documents"], counts["n_skipped"],
             versions[0], versions[1], run_id],
        )
    LOGGER.info("run %s finished: %s %s", run_id, status, counts)


def get_run(con: duckdb.DuckDBPyConnection, run_id: str) -> dict[str, Any]:
    """The ``runs`` row of ``run_id`` as a dict; ``BadInput`` if there is no such run."""
    rows = con.sql("SELECT * FROM runs WHERE run_id = $1", params=[run_id]).to_arrow_table().to_pylist()
    if not rows:
        raise BadInput(f"run {run_id}: no such run in the database")
    return rows[0]


def list_runs(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """All runs, newest first, as dicts of the ``runs`` columns."""
    return con.sql("SELECT * FROM runs ORDER BY run_id DESC").to_arrow_table().to_pylist()


def latest_run(con: duckdb.DuckDBPyConnection, before: str | None = None) -> str | None:
    """The newest finished run that did not fail (status ok or partial), or None.

    With ``before`` (a run id), the newest such run that started before it: the run to compare with.
    """
    query = "SELECT run_id FROM runs WHERE finished_at IS NOT NULL AND status IN ('ok', 'partial')"
    params: list[Any] = []
    if before is not None:
        query += " AND run_id < ?"
        params.append(before)
    row = _one(con, query + " ORDER BY run_id DESC LIMIT 1", params)
    return row[0] if row else None


def unfinished_run(con: duckdb.DuckDBPyConnection, sources_file: str | None = None) -> str | None:
    """The newest run still marked ``running`` (it stopped before finishing), optionally for one
    sources file: the run ``claimaudit run --resume`` continues."""
    query = "SELECT run_id FROM runs WHERE status = 'running'"
    params: list[Any] = []
    if sources_file is not None:
        query += " AND sources_file = ?"
        params.append(str(sources_file))
    row = _one(con, query + " ORDER BY run_id DESC LIMIT 1", params)
    return row[0] if row else None


def crawled_sources(con: duckdb.DuckDBPyConnection, run_id: str) -> set[str]:
    """Names of the sources whose crawl this run has stored (a source's fetches are stored together,
    when its crawl ends)."""
    rows = con.sql("SELECT DISTINCT source FROM fetches WHERE run_id = $1", params=[run_id]).fetchall()
    return {r[0] for r in rows if r[0]}


# --------------------------------------------------------------------------------------------- saving


def _last_by_url(items: Iterable[Any]) -> list[Any]:
    by_url: dict[str, Any] = {}
    for item in items:
        if item.url in by_url:
            LOGGER.warning("%s: saved twice in one call; keeping the last", item.url, extra={"url": item.url})
            del by_url[item.url]
        by_url[item.url] = item
    return list(by_url.values())


def _distinct(items: Iterable[Any]) -> list[Any]:
    return list(dict.fromkeys(items))


def save_fetches(con: duckdb.DuckDBPyConnection, run_id: str, fetches: Iterable[Fetch]) -> None:
    """Store fetches under ``run_id``, replacing what the run stored for the same URLs."""
    _require_run(con, run_id)
    items = _distinct(fetches)
    rows = []
    for f in items:
        d = f.to_dict()
        d["headers"] = _json(d["headers"])
        rows.append({"run_id": run_id, **d})
    with _transaction(con):
        _delete_urls(con, ["fetches"], run_id, _distinct(f.url for f in items))
        _insert(con, "fetches", rows)


def save_skipped(con: duckdb.DuckDBPyConnection, run_id: str, skipped: Iterable[Skipped]) -> None:
    """Store skipped URLs under ``run_id``, replacing what the run stored for the same URLs."""
    _require_run(con, run_id)
    items = _distinct(skipped)
    with _transaction(con):
        _delete_urls(con, ["skipped"], run_id, _distinct(s.url for s in items))
        _insert(con, "skipped", [{"run_id": run_id, **s.to_dict()} for s in items])


def _document_rows(run_id: str, doc: Document) -> dict[str, list[dict[str, Any]]]:
    key = {"run_id": run_id, "url": doc.url, "sha256": doc.sha256}
    out: dict[str, list[dict[str, Any]]] = {t: [] for t in DOCUMENT_TABLES}
    out["sentences"] = [{**key, **s.to_dict()} for s in doc.sentences]
    all_claims = [(None, c) for c in doc.claims] + [
        (r_no, c) for r_no, review in enumerate(doc.reviews) for c in review.claims
    ]
    n_problem = 0
    for claim_no, (review_no, claim) in enumerate(all_claims):
        d = claim.to_dict()
        verdict = d.pop("verdict")
        d["value"] = _json(d["value"])
        out["claims"].append({**key, "claim_no": claim_no, "review_no": review_no, **d})
        if verdict is not None:
            out["verdicts"].append({**key, "claim_no": claim_no, **verdict})
            n_problem += verdict["label"] in PROBLEM_VERDICTS
    score = doc.score
    if score is not None:
        out["scores"] = [
            {**key, "component": c.name, "points": c.points, "why": c.why, "sentences": list(c.sentences)}
            for c in score.components
        ]
    out["omissions"] = [{**key, **o.to_dict()} for o in doc.omissions]
    out["documents"] = [{
        **key, "final_url": doc.final_url, "site": doc.site, "fetched_at": doc.fetched_at,
        "title": doc.title, "author": doc.author, "published": doc.published, "language": doc.language,
        "text": doc.text,
        "credibility": score.credibility if score else None,
        "promotional_share": score.promotional_share if score else None,
        "page_label": score.label if score else None,
        "n_claims": len(all_claims), "n_problem_claims": n_problem,
        "model": doc.model, "findings_version": doc.findings_version,
        "record": _json(doc.to_dict()),
    }]
    return out


def save_documents(con: duckdb.DuckDBPyConnection, run_id: str, documents: Iterable[Document]) -> None:
    """Store analysed documents (and their sentences, claims, verdicts, score components and omissions)
    under ``run_id``, replacing what the run stored for the same URLs. One transaction per call."""
    _require_run(con, run_id)
    docs = _last_by_url(documents)
    rows: dict[str, list[dict[str, Any]]] = {t: [] for t in DOCUMENT_TABLES}
    for doc in docs:
        try:
            for table, table_rows in _document_rows(run_id, doc).items():
                rows[table].extend(table_rows)
        except ValueError as err:  # NaN/inf in a number: not representable in JSON
            raise ValueError(f"{doc.url}: cannot store document ({err})") from err
    with _transaction(con):
        _delete_urls(con, DOCUMENT_TABLES, run_id, [d.url for d in docs])
        for table in DOCUMENT_TABLES:
            _insert(con, table, rows[table])


# --------------------------------------------------------------------------------------------- loading


def load_documents(con: duckdb.DuckDBPyConnection, run_id: str) -> list[Document]:
    """The documents of a run, rebuilt from their stored records, ordered by site then URL."""
    table = con.sql(
        "SELECT record::VARCHAR AS record FROM documents WHERE run_id = $1 ORDER BY site, url",
        params=[run_id],
    ).to_arrow_table()
    return [Document.from_dict(json.loads(r)) for r in table.column("record").to_pylist()]


def load_fetches(con: duckdb.DuckDBPyConnection, run_id: str) -> list[Fetch]:
    """The fetches of a run, ordered by fetch time then URL."""
    table = con.sql(
        "SELECT * EXCLUDE (run_id) REPLACE (headers::VARCHAR AS headers) FROM fetches "
        "WHERE run_id = $1 ORDER BY fetched_at, url",
        params=[run_id],
    ).to_arrow_table()
    out = []
    for row in table.to_pylist():
        row["headers"] = json.loads(row["headers"]) if row["headers"] else []
        out.append(Fetch.from_dict(row))
    return out


def load_skipped(con: duckdb.DuckDBPyConnection, run_id: str) -> list[Skipped]:
    """The skipped URLs of a run, ordered by URL then stage."""
    table = con.sql(
        "SELECT url, stage, reason FROM skipped WHERE run_id = $1 ORDER BY url, stage", params=[run_id]
    ).to_arrow_table()
    return [Skipped(**row) for row in table.to_pylist()]
