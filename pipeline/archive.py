"""WARC archive of every HTTP exchange, written before anything parses a response.

One gzipped WARC file per run, ``<archive_dir>/<run_id>.warc.gz``; if that name is taken, the next free
``<run_id>-<n>.warc.gz``: a file is opened with ``O_EXCL`` and never overwritten or appended to, so a
second crawl adds records and cannot damage the first. The file starts with a ``warcinfo`` record; each
fetch adds a ``response`` record followed by its ``request`` record (warcio's order, linked by
``WARC-Concurrent-To``).

What is stored, and the digests:

- The response payload is the entity body as the HTTP client handed it over: de-chunked and with any
  content coding (gzip, br) already decoded. So that the archived HTTP headers still describe the stored
  payload, ``Transfer-Encoding`` is always renamed ``X-Archive-Orig-Transfer-Encoding`` and, when a
  content coding was decoded, ``Content-Encoding``/``Content-Length`` become ``X-Archive-Orig-...``
  (the prefix pywb uses). Without this a WARC reader would try to de-chunk or gunzip plain bytes.
- ``WARC-Payload-Digest: sha256:<hex>`` is the SHA-256 of that payload in lowercase hex: the same value
  as ``Fetch.sha256`` and the document's ``sha256``. warcio's own default is base32 SHA-1; WARC allows
  any ``algorithm:value`` and warcio's digest checker accepts hex, so ``warcio check`` still verifies it.
  ``WARC-Block-Digest`` is left to warcio (SHA-1 over HTTP headers plus payload).
- A body cut short (larger than ``max_bytes``, or the connection dropped) gets the standard
  ``WARC-Truncated`` header (``length``, ``time`` or ``disconnect``).
"""

from __future__ import annotations

import hashlib
import http
import logging
import os
import re
import threading
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path
from types import TracebackType
from typing import IO, Any, NamedTuple
from urllib.parse import urlsplit

from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from . import __version__
from .errors import BadInput

LOGGER = logging.getLogger(__name__)

SUFFIX = ".warc.gz"
ORIG_PREFIX = "X-Archive-Orig-"
_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")

Headers = list[tuple[str, str]]


class ArchivedResponse(NamedTuple):
    """One response record read back from a WARC file."""

    warc_file: str          # file name relative to the archive folder (or the file's name)
    offset: int             # byte offset of the response record in that file
    url: str
    status: int
    headers: Headers
    body: bytes
    fetched_at: str         # WARC-Date
    sha256: str             # hex digest of ``body``
    truncated: str | None   # WARC-Truncated reason, None when the body is complete


def _run_id_now() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


class WarcArchive:
    """Writes one WARC file per run. Use as a context manager, or call :meth:`open`/:meth:`close`.

    ``info`` adds fields to the ``warcinfo`` record (for example the crawler's user agent).
    ``write`` is thread-safe; records are flushed to the OS after each one and fsynced after each
    request/response pair, so a crash loses at most the page being written.
    """

    def __init__(self, archive_dir: Path, run_id: str | None = None, info: Mapping[str, str] | None = None):
        self.archive_dir = Path(archive_dir)
        self.run_id = run_id or _run_id_now()
        if not _RUN_ID.match(self.run_id):
            raise BadInput(f"run id {self.run_id!r}: use letters, digits, '.', '_' and '-' only")
        self.info = dict(info or {})
        self.path: Path | None = None
        self._file: IO[bytes] | None = None
        self._writer: WARCWriter | None = None
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        """The open file's name relative to ``archive_dir`` (what ``Fetch.warc_file`` holds)."""
        if self.path is None:
            raise RuntimeError("WarcArchive is not open")
        return self.path.name

    def open(self) -> WarcArchive:
        if self._file is not None:
            return self
        try:
            self.archive_dir.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise BadInput(f"{self.archive_dir}: cannot create archive folder ({err.strerror})") from None
        n = 0
        while True:
            name = f"{self.run_id}{SUFFIX}" if n == 0 else f"{self.run_id}-{n}{SUFFIX}"
            path = self.archive_dir / name
            try:
                # "xb" = O_CREAT|O_EXCL: an existing file (even one created a moment ago by another
                # process) is never opened for writing, so nothing is ever overwritten.
                self._file = open(path, "xb")  # noqa: SIM115 - open until close()
            except FileExistsError:
                n += 1
                continue
            except OSError as err:
                raise BadInput(f"{path}: cannot create WARC file ({err.strerror})") from None
            break
        self.path = path
        self._writer = WARCWriter(self._file, gzip=True)
        fields = {
            "software": f"claimaudit/{__version__} (warcio)",
            "format": "WARC File Format 1.0",
            "isPartOf": self.run_id,
            "robots": "obey",
            **self.info,
        }
        self._writer.write_record(self._writer.create_warcinfo_record(name, fields))
        self._sync()
        LOGGER.info("archiving to %s", path)
        return self

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._sync()
                self._file.close()
                self._file = None
                self._writer = None

    def __enter__(self) -> WarcArchive:
        return self.open()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _sync(self) -> None:
        if self._file is not None:
            self._file.flush()
            os.fsync(self._file.fileno())

    def write(
        self,
        fetch_url: str,
        status: int,
        reason: str,
        headers: Headers,
        body: bytes,
        fetched_at: str,
        request_headers: Headers,
        *,
        truncated: str | None = None,
    ) -> tuple[str, int, str]:
        """Archive one exchange; return (WARC file name, offset of the response record, SHA-256 hex of body).

        ``body`` is the decoded entity (see the module docstring); ``fetched_at`` is an ISO-8601 UTC time
        used as WARC-Date; ``truncated`` is a WARC-Truncated reason when the body was cut short.
        """
        sha256 = hashlib.sha256(body).hexdigest()
        warc_headers = {"WARC-Date": fetched_at, "WARC-Payload-Digest": f"sha256:{sha256}"}
        if truncated:
            warc_headers["WARC-Truncated"] = truncated
        reason = reason or _reason(status)
        response = StatusAndHeaders(f"{status} {reason}", _archived_headers(headers), protocol="HTTP/1.1")
        parts = urlsplit(fetch_url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        request = StatusAndHeaders(f"GET {target} HTTP/1.1", list(request_headers), is_http_request=True)
        with self._lock:
            if self._writer is None or self._file is None:
                raise RuntimeError("WarcArchive is not open: use it as a context manager or call open()")
            resp = self._writer.create_warc_record(
                fetch_url, "response", payload=BytesIO(body), length=len(body),
                http_headers=response, warc_headers_dict=warc_headers,
            )
            req = self._writer.create_warc_record(
                fetch_url, "request", payload=BytesIO(b""), length=0, http_headers=request,
                warc_headers_dict={"WARC-Date": fetched_at},
            )
            offset = self._file.tell()
            # warcio flushes the file after every record it writes; the fsync is ours.
            self._writer.write_request_response_pair(req, resp)
            self._sync()
            return self.name, offset, sha256


def _reason(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def _archived_headers(headers: Headers) -> Headers:
    """Rename the headers that no longer describe a de-chunked, decoded payload."""
    decoded = any(
        k.lower() == "content-encoding" and v.strip().lower() not in ("", "identity") for k, v in headers
    )
    renamed = {"transfer-encoding"} | ({"content-encoding", "content-length"} if decoded else set())
    return [(ORIG_PREFIX + k if k.lower() in renamed else k, v) for k, v in headers]


def _resolve(archive_dir: Path, warc_file: str) -> Path:
    root = Path(archive_dir).resolve()
    path = (root / warc_file).resolve()
    if not path.is_relative_to(root):
        raise BadInput(f"{warc_file}: not inside the archive folder {archive_dir}")
    return path


def _response(record: Any, warc_file: str, offset: int) -> ArchivedResponse:
    # raw_stream is positioned after the HTTP headers: the payload exactly as stored (the digest's input)
    body = record.raw_stream.read()
    http_headers = record.http_headers
    return ArchivedResponse(
        warc_file=warc_file,
        offset=offset,
        url=record.rec_headers.get_header("WARC-Target-URI"),
        status=int(http_headers.get_statuscode()),
        headers=list(http_headers.headers),
        body=body,
        fetched_at=record.rec_headers.get_header("WARC-Date") or "",
        sha256=hashlib.sha256(body).hexdigest(),
        truncated=record.rec_headers.get_header("WARC-Truncated"),
    )


def read_response(archive_dir: Path, warc_file: str, offset: int) -> tuple[str, int, Headers, bytes]:
    """Read the response record at ``offset`` of ``archive_dir/warc_file``: (url, status, headers, body)."""
    path = _resolve(archive_dir, warc_file)
    try:
        with open(path, "rb") as fh:
            fh.seek(offset)
            record = next(iter(ArchiveIterator(fh)), None)
            if record is None or record.rec_type != "response":
                kind = record.rec_type if record is not None else "nothing"
                raise BadInput(f"{path}: offset {offset} holds {kind}, not a response record")
            r = _response(record, warc_file, offset)
    except FileNotFoundError:
        raise BadInput(f"{path}: WARC file not found") from None
    except OSError as err:
        raise BadInput(f"{path}: cannot read WARC file ({err.strerror})") from None
    return r.url, r.status, r.headers, r.body


def iter_responses(path: Path) -> Iterator[ArchivedResponse]:
    """Every response record in a WARC file, or in every ``*.warc.gz`` of a folder (sorted by name).

    ``warc_file`` in each item is relative to the folder (or the file's own name), so
    ``read_response(folder, item.warc_file, item.offset)`` reads it again.
    """
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.name.endswith(SUFFIX) and p.is_file())
    elif path.is_file():
        files = [path]
    else:
        raise BadInput(f"{path}: no such WARC file or folder")
    for file in files:
        with open(file, "rb") as fh:
            records = ArchiveIterator(fh)
            for record in records:
                if record.rec_type == "response":
                    item = _response(record, file.name, 0)
                    # get_record_offset() reads the record to its end, so only after the body is read
                    yield item._replace(offset=records.get_record_offset())
