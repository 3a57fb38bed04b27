import pytest

from pipeline.errors import BadInput
from pipeline.settings import PROJECT_ROOT, load_settings


def test_defaults_and_overrides(tmp_path):
    s = load_settings(db=tmp_path / "x.duckdb", delay_seconds=0.5)
    assert s.db == tmp_path / "x.duckdb" and s.delay_seconds == 0.5
    assert s.findings_path == PROJECT_ROOT / "corpus" / "consensus" / "ketamine.yaml"


def test_partial_user_file_overrides_only_its_keys(tmp_path):
    f = tmp_path / "s.toml"
    f.write_text('[crawl]\ndelay_seconds = 3.0\n[paths]\ndb = "elsewhere.duckdb"\n')
    s = load_settings(f)
    assert s.delay_seconds == 3.0 and s.max_pages == 50
    assert s.db == PROJECT_ROOT / "elsewhere.duckdb"


@pytest.mark.parametrize("content,message", [
    ("[crawl]\ncolour = 1\n", "unknown settings colour"),
    ("not toml [", "not valid TOML"),
    ("delay_seconds = 1\n", r"must be a \[section\] table"),
])
def test_bad_settings_file(tmp_path, content, message):
    f = tmp_path / "s.toml"
    f.write_text(content)
    with pytest.raises(BadInput, match=message) as err:
        load_settings(f)
    assert str(f) in str(err.value) and "\n" not in str(err.value)


def test_missing_settings_file(tmp_path):
    with pytest.raises(BadInput, match="settings file not found"):
        load_settings(tmp_path / "none.toml")
