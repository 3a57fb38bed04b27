"""Export: one readable file per table, in csv, parquet or JSON Lines, for one run or all runs."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from pipeline import store
from pipeline.errors import BadInput
from pipeline.export import export
from pipeline.records import Document
from tests.test_store import clinic_document, other_document, save_run

# rows per table for one run of [clinic_document(), other_document()]
ONE_RUN = {"runs": 1, "sources": 2, "fetches": 2, "documents": 2, "sentences": 7, "claims": 4,
           "verdicts": 4, "scores": 4, "omissions": 1, "skipped": 1}


@pytest.fixture
def two_runs(tmp_path: Path):
    con = store.open_db(tmp_path / "claimaudit.duckdb")
    first = save_run(con, [clinic_document(50.0), other_document()])
    second = save_run(con, [clinic_document(34.0), other_document()])
    yield con, first, second
    con.close()


def test_parquet_one_file_per_table_with_expected_rows(two_runs, tmp_path):
    con, _, second = two_runs
    paths = export(con, tmp_path / "out", "parquet", run_id=second)
    assert [p.name for p in paths] == [f"{t}.parquet" for t in store.TABLES]
    tables = {p.stem: pq.read_table(p) for p in paths}
    assert {name: t.num_rows for name, t in tables.items()} == ONE_RUN
    assert "record" not in tables["documents"].column_names
    assert set(tables["runs"].column("run_id").to_pylist()) == {second}
    assert tables["scores"].column("sentences").to_pylist()[0] == [2]  # cites_evidence, a native list
    docs = tables["documents"].to_pandas()
    assert sorted(docs["credibility"]) == [34.0, 81.5]


def test_csv_all_runs_readable_by_pandas(two_runs, tmp_path):
    con, first, second = two_runs
    paths = export(con, tmp_path / "out", "csv")
    frames = {p.stem: pd.read_csv(p) for p in paths}
    assert {name: len(df) for name, df in frames.items()} == {t: 2 * n for t, n in ONE_RUN.items()}
    assert "record" not in frames["documents"].columns
    assert set(frames["claims"]["run_id"]) == {first, second}
    contexts = frames["claims"].sort_values(["run_id", "claim_no"])["context"].tolist()
    assert json.loads(contexts[0]) == ["crps"]
    assert frames["verdicts"]["citation"].str.contains("Anesth Analg 2019").sum() == 4


def test_json_lines_hold_full_records(two_runs, tmp_path):
    con, first, _ = two_runs
    paths = export(con, tmp_path / "out", "json", run_id=first)
    assert all(p.suffix == ".jsonl" for p in paths)
    lines = [json.loads(line) for line in (tmp_path / "out" / "documents.jsonl").read_text().splitlines()]
    assert {line.pop("run_id") for line in lines} == {first}
    assert [Document.from_dict(line) for line in lines] == [clinic_document(50.0), other_document()]
    claims = [json.loads(line) for line in (tmp_path / "out" / "claims.jsonl").read_text().splitlines()]
    assert len(claims) == 4 and claims[0]["value"] == {"min_days": 60, "max_days": 365, "aspect": "relief"}


def test_unknown_format_or_run_is_bad_input(two_runs, tmp_path):
    con, _, _ = two_runs
    with pytest.raises(BadInput, match="xlsx"):
        export(con, tmp_path / "out", "xlsx")
    with pytest.raises(BadInput, match="nope"):
        export(con, tmp_path / "out", "csv", run_id="nope")
    assert not (tmp_path / "out").exists()
