"""WARC archive: records written with warcio read back by offset, digests verify, nothing overwritten."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from pipeline.archive import WarcArchive, iter_responses, read_response
from pipeline.errors import BadInput

REQUEST = [("Host", "clinic.example"), ("User-Agent", "claimaudit-test")]


def _write_two(archive: WarcArchive) -> list[tuple[str, int, str]]:
    return [
        archive.write("https://clinic.example/a?x=1", 200, "OK", [("Content-Type", "text/html")],
                      b"<p>Relief lasting months.</p>", "2026-11-21T10:00:00Z", REQUEST),
        archive.write("https://clinic.example/gone", 404, "", [("Content-Type", "text/plain")],
                      b"not here", "2026-11-21T10:00:01Z", REQUEST),
    ]


def test_write_then_read_back_by_offset(tmp_path: Path) -> None:
    with WarcArchive(tmp_path, "run1") as archive:
        written = _write_two(archive)
    assert [w[0] for w in written] == ["run1.warc.gz", "run1.warc.gz"]
    url, status, headers, body = read_response(tmp_path, written[0][0], written[0][1])
    assert (url, status, headers, body) == (
        "https://clinic.example/a?x=1", 200, [("Content-Type", "text/html")], b"<p>Relief lasting months.</p>"
    )
    assert written[0][2] == hashlib.sha256(body).hexdigest()
    assert read_response(tmp_path, written[1][0], written[1][1])[:2] == ("https://clinic.example/gone", 404)


def test_file_layout_warcinfo_first_and_digests_verify(tmp_path: Path) -> None:
    with WarcArchive(tmp_path, "run1", info={"http-header-user-agent": "claimaudit-test"}) as archive:
        written = _write_two(archive)
    with open(tmp_path / "run1.warc.gz", "rb") as fh:
        # check_digests="raise": warcio recomputes the sha256 payload and sha1 block digests
        records = list(ArchiveIterator(fh, check_digests="raise"))
    assert [r.rec_type for r in records] == ["warcinfo", "response", "request", "response", "request"]
    response = records[1]
    assert response.rec_headers.get_header("WARC-Payload-Digest") == f"sha256:{written[0][2]}"
    assert response.rec_headers.get_header("WARC-Date") == "2026-11-21T10:00:00Z"
    request = records[2]
    assert request.rec_headers.get_header("WARC-Concurrent-To") == response.rec_headers.get_header("WARC-Record-ID")
    assert request.http_headers.protocol == "GET"
    assert request.http_headers.statusline == "/a?x=1 HTTP/1.1"
    assert records[3].http_headers.statusline == "404 Not Found"  # reason filled in when missing


def test_iter_responses_yields_every_response_with_its_offset(tmp_path: Path) -> None:
    with WarcArchive(tmp_path, "run1") as archive:
        written = _write_two(archive)
    items = list(iter_responses(tmp_path))
    assert [(i.warc_file, i.offset, i.sha256) for i in items] == written
    assert [i.fetched_at for i in items] == ["2026-11-21T10:00:00Z", "2026-11-21T10:00:01Z"]
    assert items == list(iter_responses(tmp_path / "run1.warc.gz"))


def test_never_overwrites_an_existing_file(tmp_path: Path) -> None:
    with WarcArchive(tmp_path, "run1") as first:
        _write_two(first)
    before = (tmp_path / "run1.warc.gz").read_bytes()
    with WarcArchive(tmp_path, "run1") as second:
        name, offset, _ = second.write("https://clinic.example/b", 200, "OK", [], b"second",
                                       "2026-11-22T00:00:00Z", REQUEST)
    with WarcArchive(tmp_path, "run1") as third:
        pass
    assert (name, second.name, third.name) == ("run1-1.warc.gz", "run1-1.warc.gz", "run1-2.warc.gz")
    assert (tmp_path / "run1.warc.gz").read_bytes() == before
    assert read_response(tmp_path, name, offset)[3] == b"second"
    assert len(list(iter_responses(tmp_path))) == 3


def test_records_are_on_disk_before_close(tmp_path: Path) -> None:
    archive = WarcArchive(tmp_path, "live").open()
    try:
        name, offset, sha = archive.write("https://c.example/", 200, "OK", [], b"page", "2026-11-21T10:00:00Z", REQUEST)
        # a second reader sees the record while the writer is still open (a crash would keep it)
        assert read_response(tmp_path, name, offset)[3] == b"page"
    finally:
        archive.close()


def test_headers_describing_the_wire_encoding_are_renamed(tmp_path: Path) -> None:
    headers = [("Content-Type", "text/html"), ("Content-Encoding", "gzip"), ("Content-Length", "31"),
               ("Transfer-Encoding", "chunked")]
    with WarcArchive(tmp_path, "run1") as archive:
        name, offset, _ = archive.write("https://c.example/", 200, "OK", headers, b"<p>decoded</p>",
                                        "2026-11-21T10:00:00Z", REQUEST)
    assert read_response(tmp_path, name, offset)[2] == [
        ("Content-Type", "text/html"), ("X-Archive-Orig-Content-Encoding", "gzip"),
        ("X-Archive-Orig-Content-Length", "31"), ("X-Archive-Orig-Transfer-Encoding", "chunked"),
    ]
    with open(tmp_path / name, "rb") as fh:
        fh.seek(offset)
        record = next(iter(ArchiveIterator(fh)))
        # warcio's decoding reader does not try to de-chunk or gunzip the stored plain body
        assert record.content_stream().read() == b"<p>decoded</p>"


def test_truncated_body_is_marked(tmp_path: Path) -> None:
    with WarcArchive(tmp_path, "run1") as archive:
        archive.write("https://c.example/big", 200, "OK", [], b"x" * 10, "2026-11-21T10:00:00Z", REQUEST,
                      truncated="length")
    (item,) = iter_responses(tmp_path)
    assert (item.truncated, item.body) == ("length", b"x" * 10)


def test_misuse_is_reported(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="run id"):
        WarcArchive(tmp_path, "../escape")
    with pytest.raises(RuntimeError, match="not open"):
        WarcArchive(tmp_path, "closed").write("https://c.example/", 200, "OK", [], b"", "2026-11-21T10:00:00Z", [])
    with WarcArchive(tmp_path, "run1") as archive:
        name, offset, _ = archive.write("https://c.example/", 200, "OK", [], b"x", "2026-11-21T10:00:00Z", REQUEST)
    with pytest.raises(BadInput, match="not a response record"):
        read_response(tmp_path, name, 0)  # offset 0 is the warcinfo record
    with pytest.raises(BadInput, match="not inside the archive folder"):
        read_response(tmp_path, "../elsewhere.warc.gz", 0)
    with pytest.raises(BadInput, match="WARC file not found"):
        read_response(tmp_path, "missing.warc.gz", 0)
