"""One settings object, built from packaged defaults layered under an optional user file.

Like trafilatura's ``use_config``: the packaged ``defaults.toml`` is read first, so a partial user
file only overrides the keys it sets. Unknown keys are an error that names them.
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import BadInput

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = PACKAGE_DIR.parent
DEFAULTS_FILE = PACKAGE_DIR / "defaults.toml"


@dataclass(frozen=True, slots=True)
class Settings:
    user_agent: str
    timeout_seconds: float
    delay_seconds: float
    max_pages: int
    max_bytes: int
    follow_sitemaps: bool
    db: Path
    archive: Path
    reports: Path
    corpus: Path
    models: Path
    topic: str
    model: Path
    min_text_chars: int
    promotional_threshold: float
    root: Path = field(default=PROJECT_ROOT)

    @property
    def findings_path(self) -> Path:
        return self.corpus / "consensus" / f"{self.topic}.yaml"

    @property
    def vocabulary_path(self) -> Path:
        return self.corpus / "vocabulary" / "conditions.yaml"

    @property
    def patterns_path(self) -> Path:
        return self.corpus / "patterns" / "claims.yaml"

    @property
    def labelled_dir(self) -> Path:
        return self.corpus / "labelled"

    @property
    def sites_dir(self) -> Path:
        return self.corpus / "sites"

    def replace(self, **changes: Any) -> "Settings":
        return dataclasses.replace(self, **{k: _coerce(self, k, v) for k, v in changes.items()})


_PATH_KEYS = {"db", "archive", "reports", "corpus", "models", "model"}


def _coerce(settings: Settings | None, key: str, value: Any) -> Any:
    if key in _PATH_KEYS and value is not None:
        p = Path(value).expanduser()
        return p if p.is_absolute() else (PROJECT_ROOT / p)
    return value


def _flatten(data: dict[str, Any], origin: str) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for section, values in data.items():
        if not isinstance(values, dict):
            raise BadInput(f"{origin}: '{section}' must be a [section] table")
        flat.update(values)
    return flat


def load_settings(path: Path | None = None, **overrides: Any) -> Settings:
    """Defaults, then the user file at ``path`` (if any), then keyword overrides (None is ignored)."""
    values = _flatten(tomllib.loads(DEFAULTS_FILE.read_text()), str(DEFAULTS_FILE))
    if path is not None:
        path = Path(path)
        try:
            user = tomllib.loads(path.read_text())
        except FileNotFoundError:
            raise BadInput(f"{path}: settings file not found") from None
        except tomllib.TOMLDecodeError as err:
            raise BadInput(f"{path}: not valid TOML ({err})") from None
        user_flat = _flatten(user, str(path))
        unknown = sorted(set(user_flat) - set(values))
        if unknown:
            raise BadInput(f"{path}: unknown settings {', '.join(unknown)}; expected some of {', '.join(sorted(values))}")
        values.update(user_flat)
    unknown = sorted(set(overrides) - set(values))
    if unknown:
        raise TypeError(f"unknown settings: {', '.join(unknown)}")
    values.update({k: v for k, v in overrides.items() if v is not None})
    return Settings(**{k: _coerce(None, k, v) for k, v in values.items()})
