"""Serve offline sample sites on 127.0.0.1, for ``claimaudit demo`` and the tests.

Each folder ``<sites_dir>/<site>/`` is the document root of its own server on a free port. Conventions:

- a request for a folder ``/x/`` serves ``/x/index.html``; ``/x`` (no slash) redirects to ``/x/``;
- the literal ``{{ORIGIN}}`` in ``.html``/``.htm``/``.xml``/``.txt`` files is replaced, at serve time,
  by the site's origin ``http://127.0.0.1:PORT`` (the port is only known once the server is up);
- ``<site>/_redirects`` holds lines ``FROM_PATH TO STATUS`` (``TO`` a path or an absolute URL;
  ``STATUS`` defaults to 301; ``#`` starts a comment) served as redirects;
- any path component starting with ``_`` or ``.`` is never served (404), nor is anything outside the
  root; there are no folder listings.

The standard library's ``SimpleHTTPRequestHandler`` is not used: it lists folders, serves dotfiles and
would need most of its methods overridden for the conventions above.
"""

from __future__ import annotations

import logging
import mimetypes
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

import yaml

from .errors import BadInput

LOGGER = logging.getLogger(__name__)

HOST = "127.0.0.1"
ORIGIN_MARK = b"{{ORIGIN}}"
TEMPLATED = {".html", ".htm", ".xml", ".txt"}
REDIRECT_STATUSES = {301, 302, 303, 307, 308}


class _SiteServer(ThreadingHTTPServer):
    # Do not wait for handler threads on close: a client's idle keep-alive connection would block it.
    block_on_close = False

    def __init__(self, root: Path, redirects: dict[str, tuple[str, int]]):
        super().__init__((HOST, 0), _SiteHandler)
        self.root = root.resolve()
        self.redirects = redirects
        self.origin = f"http://{HOST}:{self.server_address[1]}"


class _SiteHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive; every response carries a Content-Length
    server_version = "claimaudit-sites/0.1"
    server: _SiteServer

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        LOGGER.debug("%s %s", self.server.origin, format % args)

    def do_GET(self) -> None:
        self._respond(with_body=True)

    def do_HEAD(self) -> None:
        self._respond(with_body=False)

    def _send(self, status: int, body: bytes, content_type: str, with_body: bool, location: str = "") -> None:
        self.send_response(status)
        if location:
            self.send_header("Location", location)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if with_body:
            self.wfile.write(body)

    def _not_found(self, with_body: bool) -> None:
        self._send(404, b"<!doctype html><title>Not found</title><h1>Not found</h1>\n",
                   "text/html; charset=utf-8", with_body)

    def _redirect(self, status: int, target: str, with_body: bool) -> None:
        target = target.replace(ORIGIN_MARK.decode(), self.server.origin)
        location = target if "://" in target else self.server.origin + target
        body = f'<!doctype html><a href="{location}">moved</a>\n'.encode()
        self._send(status, body, "text/html; charset=utf-8", with_body, location=location)

    def _respond(self, with_body: bool) -> None:
        parts = urlsplit(self.path)
        path = unquote(parts.path) or "/"
        if path in self.server.redirects:
            target, status = self.server.redirects[path]
            self._redirect(status, target, with_body)
            return
        file = self._file(path)
        if file is None:
            self._not_found(with_body)
            return
        if file.is_dir():
            if not path.endswith("/"):
                query = f"?{parts.query}" if parts.query else ""
                self._redirect(301, parts.path + "/" + query, with_body)
                return
            file = file / "index.html"
            if not file.is_file():
                self._not_found(with_body)
                return
        body = file.read_bytes()
        if file.suffix.lower() in TEMPLATED:
            body = body.replace(ORIGIN_MARK, self.server.origin.encode())
        self._send(200, body, _content_type(file), with_body)

    def _file(self, path: str) -> Path | None:
        """The file or folder under the root for a URL path, or None (hidden, outside, missing)."""
        names = [p for p in path.split("/") if p]
        # "." and ".." start with "." too, so this also refuses any traversal attempt
        if any(n.startswith(("_", ".")) or "\\" in n or "\x00" in n for n in names):
            return None
        try:
            candidate = self.server.root.joinpath(*names).resolve()
        except (OSError, ValueError):
            return None
        # resolve() follows symlinks: a link pointing outside the root is refused as well
        if not candidate.is_relative_to(self.server.root) or not candidate.exists():
            return None
        return candidate


def _content_type(file: Path) -> str:
    guessed, _ = mimetypes.guess_type(file.name)
    ctype = guessed or "application/octet-stream"
    if ctype.startswith("text/") or ctype in ("application/xml", "application/javascript", "application/json"):
        ctype += "; charset=utf-8"
    return ctype


def _read_redirects(site: Path) -> dict[str, tuple[str, int]]:
    file = site / "_redirects"
    if not file.is_file():
        return {}
    redirects: dict[str, tuple[str, int]] = {}
    for n, line in enumerate(file.read_text(encoding="utf-8").splitlines(), start=1):
        fields = line.split("#", 1)[0].split()
        if not fields:
            continue
        if len(fields) not in (2, 3) or not fields[0].startswith("/"):
            raise BadInput(f"{file}: line {n}: expected 'FROM_PATH TO_PATH [STATUS]', got {line.strip()!r}")
        status = 301
        if len(fields) == 3:
            if not fields[2].isdigit() or int(fields[2]) not in REDIRECT_STATUSES:
                raise BadInput(f"{file}: line {n}: status {fields[2]!r} is not one of 301, 302, 303, 307, 308")
            status = int(fields[2])
        redirects[fields[0]] = (fields[1], status)
    return redirects


@contextmanager
def serve_sites(sites_dir: Path) -> Iterator[dict[str, str]]:
    """Serve every folder of ``sites_dir`` on its own port; yield {folder name: origin}.

    The servers run in daemon threads and are shut down when the ``with`` block ends.
    """
    sites_dir = Path(sites_dir)
    if not sites_dir.is_dir():
        raise BadInput(f"{sites_dir}: sites folder not found")
    folders = sorted(p for p in sites_dir.iterdir() if p.is_dir() and not p.name.startswith(("_", ".")))
    origins: dict[str, str] = {}
    with ExitStack() as stack:
        for folder in folders:
            server = _SiteServer(folder, _read_redirects(folder))
            stack.callback(server.server_close)
            thread = threading.Thread(
                target=server.serve_forever, kwargs={"poll_interval": 0.05},
                name=f"site-{folder.name}", daemon=True,
            )
            thread.start()
            stack.callback(thread.join, 5)
            stack.callback(server.shutdown)  # callbacks run last-in first-out: shutdown, join, close
            origins[folder.name] = server.origin
            LOGGER.debug("serving %s at %s", folder, server.origin)
        yield origins


def _default_kind(name: str) -> str:
    lowered = name.lower()
    if "review" in lowered:
        return "reviews"
    if "research" in lowered or "university" in lowered:
        return "evidence"
    return "clinic"


def write_sources(
    origins: dict[str, str], path: Path, kinds: dict[str, str] | None = None, max_pages: int = 50
) -> Path:
    """Write a DESIGN.md sources file listing each served site (scope ``site``); return ``path``.

    ``kinds`` overrides the kind per site name; otherwise names containing "review" are ``reviews``,
    "research" or "university" ``evidence``, anything else ``clinic``.
    """
    kinds = kinds or {}
    entries = [
        {
            "name": name,
            "url": origin.rstrip("/") + "/",
            "kind": kinds.get(name, _default_kind(name)),
            "max_pages": max_pages,
            "scope": "site",
        }
        for name, origin in sorted(origins.items())
    ]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump({"sources": entries}, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path
