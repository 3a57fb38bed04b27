"""Read and validate the sources file (DESIGN.md "Sources file").

Every problem is a :class:`BadInput` with one line naming the file, the entry (1-based index and name)
and the field, e.g. ``sources.yaml: entry 2 ('Foo'): url 'ftp://x' is not an http(s) URL``.
Plain checks rather than pydantic: the messages are the product here, and pydantic's multi-line
validation reports would need rewriting field by field anyway.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, get_args
from urllib.parse import urlsplit

import yaml

from .errors import BadInput
from .records import Scope, Source, SourceKind
from .settings import Settings

KINDS: tuple[str, ...] = get_args(SourceKind)
SCOPES: tuple[str, ...] = get_args(Scope)
FIELDS: tuple[str, ...] = ("name", "url", "kind", "max_pages", "scope")
_SHOWN = 80  # longest value quoted in a message


def _show(value: Any) -> str:
    text = repr(value)  # repr escapes newlines, so the message stays on one line
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."


def _read(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BadInput(f"{path}: sources file not found") from None
    except IsADirectoryError:
        raise BadInput(f"{path}: is a folder, not a sources file") from None
    except UnicodeDecodeError:
        raise BadInput(f"{path}: not UTF-8 text") from None
    except OSError as err:
        raise BadInput(f"{path}: cannot read ({err.strerror or err})") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(err, "problem", None) or type(err).__name__
        raise BadInput(f"{path}: not valid YAML{where} ({problem})") from None


def _entry(path: Path, i: int, raw: Any, settings: Settings) -> Source:
    if not isinstance(raw, dict):
        raise BadInput(f"{path}: entry {i}: expected a mapping with keys {', '.join(FIELDS)}, got {_show(raw)}")
    name = raw.get("name")
    label = f"entry {i} ({_show(name)})" if isinstance(name, str) and name.strip() else f"entry {i}"

    def bad(message: str) -> BadInput:
        return BadInput(f"{path}: {label}: {message}")

    unknown = [str(k) for k in raw if k not in FIELDS]
    if unknown:
        raise bad(f"unknown key(s) {', '.join(map(_show, unknown))}; expected some of {', '.join(FIELDS)}")
    if not isinstance(name, str) or not name.strip():
        raise bad(f"name {_show(name)} must be a non-empty string" if "name" in raw else "name is missing")

    if "url" not in raw:
        raise bad("url is missing")
    url = raw["url"]
    if not isinstance(url, str):
        raise bad(f"url {_show(url)} is not an http(s) URL")
    url = url.strip()
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
        ok = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:
        ok = False
    if not ok or any(c.isspace() for c in url):
        raise bad(f"url {_show(url)} is not an http(s) URL")

    kind = raw.get("kind", "clinic")
    if kind not in KINDS:
        raise bad(f"kind {_show(kind)} is not one of {' | '.join(KINDS)}")

    max_pages = raw.get("max_pages", settings.max_pages)
    # bool is an int subclass: `max_pages: yes` must not read as 1
    if not isinstance(max_pages, int) or isinstance(max_pages, bool) or max_pages < 1:
        raise bad(f"max_pages {_show(max_pages)} must be a whole number of at least 1")

    scope = raw.get("scope", "site")
    if scope not in SCOPES:
        raise bad(f"scope {_show(scope)} is not one of {' | '.join(SCOPES)}")

    return Source(name=name.strip(), url=url, kind=kind, max_pages=max_pages, scope=scope)


def load_sources(path: Path, settings: Settings) -> list[Source]:
    """The sources listed in ``path``; ``max_pages`` defaults to ``settings.max_pages``.

    Raises :class:`BadInput` (one line naming file, entry and field) for an unreadable file, bad YAML,
    a missing or empty ``sources:`` list, unknown keys, bad values or duplicate names.
    """
    path = Path(path)
    data = _read(path)
    if not isinstance(data, dict) or "sources" not in data:
        raise BadInput(f"{path}: missing top-level 'sources:' list")
    unknown = [str(k) for k in data if k != "sources"]
    if unknown:
        raise BadInput(f"{path}: unknown top-level key(s) {', '.join(map(_show, unknown))}; expected only 'sources'")
    entries = data["sources"]
    if not isinstance(entries, list):
        raise BadInput(f"{path}: 'sources' must be a list of entries, got {_show(entries)}")
    if not entries:
        raise BadInput(f"{path}: 'sources' is empty")

    sources: list[Source] = []
    first_seen: dict[str, int] = {}
    for i, raw in enumerate(entries, start=1):
        source = _entry(path, i, raw, settings)
        key = source.name.casefold()
        if key in first_seen:
            raise BadInput(
                f"{path}: entry {i} ({_show(source.name)}): name duplicates entry {first_seen[key]}"
            )
        first_seen[key] = i
        sources.append(source)
    return sources
