"""Shared fixtures. Prefect is isolated before it is imported: a temporary PREFECT_HOME, no analytics,
no UI, a generous start-up timeout for the temporary server (STACK.md)."""

import os
import tempfile

os.environ["PREFECT_HOME"] = tempfile.mkdtemp(prefix="claimaudit-prefect-")
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ["DO_NOT_TRACK"] = "1"
os.environ["PREFECT_SERVER_UI_ENABLED"] = "false"
os.environ["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"] = "90"
os.environ.pop("PREFECT_API_URL", None)

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from pipeline.settings import PROJECT_ROOT, load_settings  # noqa: E402

ROOT = PROJECT_ROOT
SITES = ROOT / "corpus" / "sites"


def write_tree(root: Path, files: dict[str, str | bytes]) -> Path:
    """Write a small site (or any tree) from {relative path: content}; used by the crawl and site tests."""
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root


@pytest.fixture
def settings(tmp_path: Path):
    """Settings with every output path under tmp_path and a short politeness delay."""
    return load_settings(db=tmp_path / "db.duckdb", archive=tmp_path / "archive", reports=tmp_path / "reports",
                         delay_seconds=0.05)


@pytest.fixture(scope="session")
def nlp():
    from pipeline.claims import build_nlp

    s = load_settings()
    return build_nlp(str(s.patterns_path), str(s.vocabulary_path))


@pytest.fixture(scope="session")
def resources():
    from pipeline.analyze import load_resources

    return load_resources(load_settings())


@pytest.fixture(scope="session")
def findings():
    from pipeline.findings import load_findings

    return load_findings(load_settings().findings_path)[0]
