"""Export the store's tables for analysts: one file per table, for one run or for all of them.

- ``csv``: ``<table>.csv`` with a header row; list columns (``claims.context``, ``scores.sentences``)
  and JSON columns are JSON text. ``documents.csv`` leaves out the ``record`` column (it is the whole
  record again; use ``json`` for it).
- ``parquet``: ``<table>.parquet`` (zstd), native types; ``documents`` again without ``record``.
- ``json``: ``<table>.jsonl``, JSON Lines. JSON columns are nested objects, not strings. Each line of
  ``documents.jsonl`` is ``{"run_id": ..., <the full DESIGN.md document record>}``.

Files are written through DuckDB (``COPY``/relation writers) into a temporary name and renamed, so an
interrupted export never leaves a half-written file under the final name.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Literal

import duckdb

from .errors import BadInput
from .store import SCHEMA, TABLES, get_run

LOGGER = logging.getLogger(__name__)

Format = Literal["csv", "parquet", "json"]
FORMATS: tuple[str, ...] = ("csv", "parquet", "json")
EXTENSIONS = {"csv": "csv", "parquet": "parquet", "json": "jsonl"}
ORDER = {
    "runs": "run_id", "sources": "run_id, url", "fetches": "run_id, fetched_at, url",
    "documents": "run_id, site, url", "sentences": "run_id, url, i", "claims": "run_id, url, claim_no",
    "verdicts": "run_id, url, claim_no", "scores": "run_id, url, component", "omissions": "run_id, url, id",
    "skipped": "run_id, url, stage",
}


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _select(table: str, fmt: str, where: str) -> str:
    cols = []
    for col, decl in SCHEMA[table]:
        if table == "documents" and col == "record" and fmt != "json":
            continue
        if fmt == "csv" and decl.endswith("[]"):
            cols.append(f"to_json({_q(col)})::VARCHAR AS {_q(col)}")
        else:
            cols.append(_q(col))
    return f"SELECT {', '.join(cols)} FROM {table} {where} ORDER BY {ORDER[table]}"


def _sql_string(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _write_documents_jsonl(con: duckdb.DuckDBPyConnection, path: Path, where: str, params: list[str]) -> None:
    cur = con.execute(f"SELECT run_id, record::VARCHAR FROM documents {where} ORDER BY {ORDER['documents']}", params)
    with path.open("w", encoding="utf-8") as fh:
        while rows := cur.fetchmany(500):
            for run_id, record in rows:
                fh.write(json.dumps({"run_id": run_id, **json.loads(record)}, ensure_ascii=False) + "\n")


def export(
    con: duckdb.DuckDBPyConnection, out_dir: Path | str, fmt: Format | str, run_id: str | None = None
) -> list[Path]:
    """Write every table (rows of ``run_id`` only, if given) to ``out_dir`` in ``fmt``; return the paths.

    An unknown format or run id raises ``BadInput``.
    """
    if fmt not in FORMATS:
        raise BadInput(f"export format {fmt!r}: unknown; expected one of {', '.join(FORMATS)}")
    if run_id is not None:
        get_run(con, run_id)
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise BadInput(f"{out}: cannot create the export folder ({err.strerror or err})") from None
    where, params = ("WHERE run_id = $1", [run_id]) if run_id is not None else ("", [])
    paths = []
    for table in TABLES:
        path = out / f"{table}.{EXTENSIONS[fmt]}"
        tmp = path.with_name(path.name + ".tmp")
        query = _select(table, fmt, where)
        if fmt == "csv":
            con.sql(query, params=params).write_csv(str(tmp), header=True)
        elif fmt == "parquet":
            con.sql(query, params=params).write_parquet(str(tmp), compression="zstd")
        elif table == "documents":
            _write_documents_jsonl(con, tmp, where, params)
        else:
            con.execute(f"COPY ({query}) TO {_sql_string(tmp)} (FORMAT json)", params)
        os.replace(tmp, path)
        paths.append(path)
    LOGGER.info("exported %d tables as %s to %s (run %s)", len(paths), fmt, out, run_id or "all")
    return paths
