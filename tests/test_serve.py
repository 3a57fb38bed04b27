"""Scheduled runs for real: a standing Prefect server on 127.0.0.1 (a temporary server cannot schedule),
`claimaudit serve` with a per-minute cron, and a scheduled run that lands in DuckDB."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from pipeline import sites, store
from tests.conftest import SITES

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(1)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


@pytest.fixture
def prefect_server(tmp_path):
    port = _free_port()
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect-home"), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "DO_NOT_TRACK": "1", "PREFECT_SERVER_UI_ENABLED": "false",
           "PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": "5"}
    env.pop("PREFECT_API_URL", None)
    log = open(tmp_path / "server.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1",
                             "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT)
    api = f"http://127.0.0.1:{port}/api"

    def healthy():
        try:
            return httpx.get(f"{api}/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        _wait(healthy, 120, "the Prefect server")
        yield api, env
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def test_serve_registers_a_cron_deployment_and_runs_on_schedule(prefect_server, tmp_path):
    api, env = prefect_server
    db = tmp_path / "sched.duckdb"
    with sites.serve_sites(SITES) as origins:
        src = sites.write_sources({"harbor-anesthesia": origins["harbor-anesthesia"]}, tmp_path / "s.yaml")
        serve_log = open(tmp_path / "serve.log", "w")
        proc = subprocess.Popen(
            [sys.executable, "-m", "pipeline.cli", "serve", "--sources", str(src), "--cron", "* * * * *",
             "--db", str(db), "--archive", str(tmp_path / "arch"), "--name", "every-minute"],
            env={**env, "PREFECT_API_URL": api}, stdout=serve_log, stderr=subprocess.STDOUT, cwd=Path(__file__).parents[1])
        try:
            def deployment():
                r = httpx.post(f"{api}/deployments/filter", json={}, timeout=5)
                found = [d for d in r.json() if d["name"] == "every-minute"]
                return found[0] if found else None

            dep = _wait(deployment, 90, "the deployment to be registered")
            assert dep["schedules"][0]["schedule"]["cron"] == "* * * * *"

            def scheduled():
                r = httpx.post(f"{api}/flow_runs/filter", timeout=5,
                               json={"flow_runs": {"deployment_id": {"any_": [dep["id"]]}}})
                return r.json()

            assert _wait(scheduled, 60, "the scheduler to create runs")

            def finished_run():
                if not db.exists():
                    return None
                try:
                    con = store.open_db(db)
                except Exception:  # the scheduled run may hold the file while it writes
                    return None
                try:
                    return store.latest_run(con)
                finally:
                    con.close()

            run_id = _wait(finished_run, 180, "a scheduled run to finish")
        finally:
            proc.terminate()
            proc.wait(timeout=30)
            serve_log.close()
    con = store.open_db(db)
    assert con.sql("SELECT count(*) FROM documents WHERE run_id = $1", params=[run_id]).fetchall()[0][0] >= 3
    con.close()
