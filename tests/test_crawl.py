"""Polite crawler against real HTTP servers on 127.0.0.1 (sites built in tmp folders, no mocks).

What a server saw is read from two places: the WARC archive (every response is archived) and the
site server's own DEBUG log of the requests it answered.
"""

from __future__ import annotations

import hashlib
import logging
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from pipeline.archive import WarcArchive, iter_responses, read_response
from pipeline.crawl import crawl, fetch_one, normalize_url
from pipeline.records import Fetch, Skipped, Source
from pipeline.settings import Settings, load_settings
from pipeline.sites import serve_sites
from tests.conftest import write_tree

CLINIC = {
    "index.html": """<html><head><title>Home</title></head><body>
        <a href="/about.html">About</a> <a href="/about.html#team">Team</a> <a href="about.html">Again</a>
        <a href="/private/secret.html">Secret</a> <a href="/old-page">Old</a>
        <a href="/missing.html">Missing</a> <a href="brochure.pdf">Brochure</a>
        <a href="mailto:desk@clinic.example">mail</a> <a href="tel:+15550100">call</a>
        <a href="javascript:void(0)">menu</a> <a href="http://example.org/elsewhere">partner</a>
        <a href="/leave">leave</a></body></html>""",
    "about.html": "<html><body><p>About us</p><a href='/'>home</a></body></html>",
    # relative link: only resolves to /treatments/pain.html against the final URL of the redirect
    "treatments/index.html": "<html><body><a href='pain.html'>Pain</a></body></html>",
    "treatments/pain.html": "<html><body>Relief lasting months.</body></html>",
    "private/secret.html": "<html><body>secret</body></html>",
    "sitemap-only.html": "<html><body>only in the sitemap</body></html>",
    "brochure.pdf": b"%PDF-1.4\n<a href=\"/from-pdf.html\">not a link</a>\n",
    "from-pdf.html": "<html><body>must never be fetched</body></html>",
    "robots.txt": "User-agent: *\nDisallow: /private/\nSitemap: {{ORIGIN}}/sitemap.xml\n",
    "sitemap.xml": """<?xml version="1.0" encoding="UTF-8"?>
        <urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
        <url><loc>{{ORIGIN}}/sitemap-only.html</loc></url><url><loc>{{ORIGIN}}/about.html</loc></url>
        </urlset>""",
    "_redirects": "/old-page /treatments/ 301\n/leave http://127.0.0.1:9/elsewhere 302\n",
}


def _settings(tmp: Path, **changes: object) -> Settings:
    return load_settings(archive=tmp / "archive", delay_seconds=0.05).replace(**changes)


class _Requests(logging.Handler):
    """Collects the paths the site servers answered, from pipeline.sites' DEBUG request log."""

    LINE = re.compile(r'"(?:GET|HEAD) (\S+) HTTP')

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.paths: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        found = self.LINE.search(record.getMessage())
        if found:
            self.paths.append(found.group(1))


@contextmanager
def _server_log() -> Iterator[_Requests]:
    logger = logging.getLogger("pipeline.sites")
    handler, level = _Requests(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def _archived(archive_dir: Path) -> list[tuple[str, int]]:
    return [(r.url, r.status) for r in iter_responses(archive_dir)]


@dataclass
class Crawled:
    origin: str
    results: list[Fetch | Skipped]
    archive: Path
    requested: list[str]

    def fetches(self) -> dict[str, Fetch]:
        return {r.url: r for r in self.results if isinstance(r, Fetch)}

    def skipped(self) -> dict[str, str]:
        return {r.url: r.reason for r in self.results if isinstance(r, Skipped)}


def _crawl_site(tmp: Path, files: dict[str, str | bytes], settings: Settings | None = None,
                run_id: str = "test", **source: object) -> Crawled:
    settings = settings or _settings(tmp)
    write_tree(tmp / "sites" / "clinic", files)
    with _server_log() as log, serve_sites(tmp / "sites") as origins:
        origin = origins["clinic"]
        src = Source(**{"name": "clinic", "url": origin + "/", **source})  # type: ignore[arg-type]
        with WarcArchive(settings.archive, run_id) as archive:
            results = list(crawl(src, settings, archive))
    return Crawled(origin, results, settings.archive, log.paths)


@pytest.fixture(scope="module")
def clinic(tmp_path_factory: pytest.TempPathFactory) -> Crawled:
    return _crawl_site(tmp_path_factory.mktemp("clinic"), CLINIC)


# --------------------------------------------------------------------------- one crawl of the clinic


def test_pages_found_by_links_sitemap_and_redirect(clinic: Crawled) -> None:
    o = clinic.origin
    assert list(clinic.fetches()) == [
        f"{o}/", f"{o}/sitemap-only.html", f"{o}/about.html", f"{o}/old-page",
        f"{o}/missing.html", f"{o}/brochure.pdf", f"{o}/treatments/pain.html",
    ]
    assert clinic.skipped() == {
        f"{o}/private/secret.html": "disallowed by robots.txt",
        f"{o}/leave": "out of scope (redirect to http://127.0.0.1:9/elsewhere)",
    }
    # each URL requested once; robots.txt first
    assert clinic.requested[0] == "/robots.txt"
    assert len(clinic.requested) == len(set(clinic.requested))


def test_robots_disallowed_page_is_never_requested(clinic: Crawled) -> None:
    assert "/private/secret.html" not in clinic.requested
    assert all("/private/" not in url for url, _ in _archived(clinic.archive))


def test_sitemap_only_page_is_found_and_sitemap_archived(clinic: Crawled) -> None:
    assert clinic.fetches()[f"{clinic.origin}/sitemap-only.html"].status == 200
    assert (f"{clinic.origin}/sitemap.xml", 200) in _archived(clinic.archive)
    assert (f"{clinic.origin}/robots.txt", 200) in _archived(clinic.archive)


def test_redirect_archives_both_hops_and_sets_final_url(clinic: Crawled) -> None:
    o = clinic.origin
    fetch = clinic.fetches()[f"{o}/old-page"]
    assert (fetch.final_url, fetch.status) == (f"{o}/treatments/", 200)
    archived = _archived(clinic.archive)
    assert (f"{o}/old-page", 301) in archived
    assert (f"{o}/treatments/", 200) in archived
    url, _, _, body = read_response(clinic.archive, fetch.warc_file, fetch.warc_offset)
    assert url == f"{o}/treatments/" and b"pain.html" in body
    # the relative link on the landing page resolved against the final URL
    assert f"{o}/treatments/pain.html" in clinic.fetches()


def test_out_of_scope_redirect_target_is_not_requested(clinic: Crawled) -> None:
    assert all(not url.startswith("http://127.0.0.1:9/") for url, _ in _archived(clinic.archive))
    assert (f"{clinic.origin}/leave", 302) in _archived(clinic.archive)


def test_404_is_archived_and_yielded_as_a_fetch(clinic: Crawled) -> None:
    fetch = clinic.fetches()[f"{clinic.origin}/missing.html"]
    assert fetch.status == 404
    assert read_response(clinic.archive, fetch.warc_file, fetch.warc_offset)[1] == 404


def test_non_html_is_archived_but_not_parsed_for_links(clinic: Crawled) -> None:
    pdf = clinic.fetches()[f"{clinic.origin}/brochure.pdf"]
    assert pdf.content_type == "application/pdf"
    assert read_response(clinic.archive, pdf.warc_file, pdf.warc_offset)[3] == CLINIC["brochure.pdf"]
    assert "/from-pdf.html" not in clinic.requested


def test_other_schemes_and_other_sites_are_not_requested(clinic: Crawled) -> None:
    urls = [url for url, _ in _archived(clinic.archive)]
    assert all(u.startswith(clinic.origin + "/") for u in urls)
    assert all("#" not in u for u in urls)


def test_sha256_matches_the_body_archived_at_the_recorded_offset(clinic: Crawled) -> None:
    for fetch in clinic.fetches().values():
        url, status, headers, body = read_response(clinic.archive, fetch.warc_file, fetch.warc_offset)
        assert (url, status) == (fetch.final_url, fetch.status)
        assert hashlib.sha256(body).hexdigest() == fetch.sha256
        assert len(body) == fetch.length
        assert fetch.source == "clinic" and fetch.kind == "clinic"
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", fetch.fetched_at)


# --------------------------------------------------------------------------- limits, scope, politeness


def test_max_pages_counts_page_fetches_only(tmp_path: Path) -> None:
    crawled = _crawl_site(tmp_path, CLINIC, max_pages=2)
    o = crawled.origin
    assert list(crawled.fetches()) == [f"{o}/", f"{o}/sitemap-only.html"]
    assert crawled.requested == ["/robots.txt", "/sitemap.xml", "/", "/sitemap-only.html"]


def test_page_scope_fetches_only_the_page(tmp_path: Path) -> None:
    crawled = _crawl_site(tmp_path, CLINIC, scope="page")
    assert [r.url for r in crawled.results] == [crawled.origin + "/"]
    assert crawled.requested == ["/robots.txt", "/"]


def test_prefix_scope(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    write_tree(tmp_path / "sites" / "clinic", CLINIC)
    with serve_sites(tmp_path / "sites") as origins, WarcArchive(settings.archive) as archive:
        o = origins["clinic"]
        results = list(crawl(Source("c", f"{o}/treatments/", scope="prefix"), settings, archive))
    assert [r.url for r in results] == [f"{o}/treatments/", f"{o}/treatments/pain.html"]


def _request_times(files: dict[str, str | bytes], tmp: Path, settings: Settings) -> list[float]:
    times: list[float] = []
    write_tree(tmp / "sites" / "clinic", files)
    with serve_sites(tmp / "sites") as origins, WarcArchive(settings.archive) as archive, \
            httpx.Client(event_hooks={"request": [lambda request: times.append(time.monotonic())]}) as client:
        results = list(crawl(Source("c", origins["clinic"] + "/"), settings, archive, client))
    assert all(isinstance(r, Fetch) for r in results) and len(results) == 3
    return times


SMALL = {
    "index.html": "<a href='/a.html'>a</a> <a href='/b.html'>b</a>",
    "a.html": "a", "b.html": "b",
    "robots.txt": "User-agent: *\nDisallow:\n",
}
TOLERANCE = 0.02  # the hook fires a little after the crawler's clock slot; assert only a lower bound


def test_per_host_delay_between_all_requests(tmp_path: Path) -> None:
    times = _request_times(SMALL, tmp_path, _settings(tmp_path, delay_seconds=0.2))
    assert len(times) == 5  # robots.txt, /sitemap.xml (404), three pages
    assert min(b - a for a, b in zip(times, times[1:], strict=False)) >= 0.2 - TOLERANCE


def test_crawl_delay_larger_than_the_setting_is_honoured(tmp_path: Path) -> None:
    files = {**SMALL, "robots.txt": "User-agent: *\nCrawl-delay: 0.3\n"}
    times = _request_times(files, tmp_path, _settings(tmp_path, follow_sitemaps=False))
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert len(gaps) == 3  # robots.txt, then three pages
    assert min(gaps) >= 0.3 - TOLERANCE


def test_robots_group_for_our_user_agent_wins(tmp_path: Path) -> None:
    files = {
        **SMALL,
        "robots.txt": "User-agent: claimaudit\nDisallow: /a.html\n\nUser-agent: *\nDisallow: /b.html\n",
    }
    crawled = _crawl_site(tmp_path, files)
    assert crawled.skipped() == {crawled.origin + "/a.html": "disallowed by robots.txt"}
    assert "/a.html" not in crawled.requested and "/b.html" in crawled.requested


def test_missing_robots_allows_everything(tmp_path: Path) -> None:
    files = {k: v for k, v in CLINIC.items() if k != "robots.txt"}
    crawled = _crawl_site(tmp_path, files)
    assert crawled.fetches()[crawled.origin + "/private/secret.html"].status == 200
    assert (crawled.origin + "/robots.txt", 404) in _archived(crawled.archive)


def test_sitemap_index_is_expanded_one_level(tmp_path: Path) -> None:
    files = {
        "index.html": "home",
        "sitemap.xml": "<sitemapindex><sitemap><loc>{{ORIGIN}}/pages.xml</loc></sitemap></sitemapindex>",
        "pages.xml": "<urlset><url><loc>{{ORIGIN}}/deep.html</loc>"
                     "<image:image xmlns:image='http://www.google.com/schemas/sitemap-image/1.1'>"
                     "<image:loc>{{ORIGIN}}/photo.jpg</image:loc></image:image></url></urlset>",
        "deep.html": "deep",
    }
    crawled = _crawl_site(tmp_path, files)
    assert list(crawled.fetches()) == [crawled.origin + "/", crawled.origin + "/deep.html"]
    assert "/photo.jpg" not in crawled.requested


def test_body_larger_than_max_bytes_is_archived_truncated_and_skipped(tmp_path: Path) -> None:
    files = {**SMALL, "a.html": "x" * 5000}
    crawled = _crawl_site(tmp_path, files, settings=_settings(tmp_path, max_bytes=1000))
    assert crawled.skipped() == {crawled.origin + "/a.html": "body larger than 1000 bytes"}
    (big,) = [r for r in iter_responses(crawled.archive) if r.url.endswith("/a.html")]
    assert (big.body, big.truncated) == (b"x" * 1000, "length")


def test_redirect_loop_is_cut_at_the_first_repeat(tmp_path: Path) -> None:
    files = {"index.html": "<a href='/loop-a'>loop</a>", "_redirects": "/loop-a /loop-b\n/loop-b /loop-a\n"}
    crawled = _crawl_site(tmp_path, files)
    o = crawled.origin
    assert crawled.skipped() == {f"{o}/loop-a": f"already crawled (redirect to {o}/loop-a)"}
    assert crawled.requested.count("/loop-a") == crawled.requested.count("/loop-b") == 1


def test_at_most_five_redirect_hops(tmp_path: Path) -> None:
    five = [f"/c{i} /c{i + 1}" for i in range(1, 5)] + ["/c5 /ok.html"]
    six = [f"/d{i} /d{i + 1}" for i in range(1, 6)] + ["/d6 /ok.html"]
    files = {"index.html": "<a href='/c1'>c</a> <a href='/d1'>d</a>", "ok.html": "ok",
             "_redirects": "\n".join(five + six) + "\n"}
    crawled = _crawl_site(tmp_path, files)
    o = crawled.origin
    assert crawled.fetches()[f"{o}/c1"].final_url == f"{o}/ok.html"
    assert crawled.skipped() == {f"{o}/d1": "more than 5 redirects"}
    assert [p for p in crawled.requested if p.startswith("/d")] == [f"/d{i}" for i in range(1, 7)]


def test_second_crawl_adds_a_new_file_and_overwrites_nothing(tmp_path: Path) -> None:
    first = _crawl_site(tmp_path, SMALL, run_id="weekly")
    before = (first.archive / "weekly.warc.gz").read_bytes()
    second = _crawl_site(tmp_path, SMALL, run_id="weekly")
    assert {f.warc_file for f in first.fetches().values()} == {"weekly.warc.gz"}
    assert {f.warc_file for f in second.fetches().values()} == {"weekly-1.warc.gz"}
    assert (first.archive / "weekly.warc.gz").read_bytes() == before
    in_files = [r.warc_file for r in iter_responses(first.archive)]
    assert in_files.count("weekly.warc.gz") == in_files.count("weekly-1.warc.gz") == 5
    for fetch in first.fetches().values():  # the first snapshot is still readable where it was
        body = read_response(first.archive, fetch.warc_file, fetch.warc_offset)[3]
        assert hashlib.sha256(body).hexdigest() == fetch.sha256


# --------------------------------------------------------------------------- failures


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _Flaky(BaseHTTPRequestHandler):
    """A server that misbehaves on purpose: robots.txt status set per test, a dropped connection, a stall."""

    robots_status = 200
    seen: list[str] = []

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass

    def do_GET(self) -> None:
        self.seen.append(self.path)
        if self.path == "/robots.txt" and self.robots_status != 200:
            self.send_error(self.robots_status)
            return
        if self.path == "/drop":
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)  # no status line at all
            return
        if self.path == "/slow":
            time.sleep(1.0)
        body = {"/": b"<a href='/drop'>d</a><a href='/slow'>s</a><a href='/ok'>ok</a>"}.get(self.path, b"ok")
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@contextmanager
def _flaky(robots_status: int) -> Iterator[tuple[str, list[str]]]:
    handler = type("Handler", (_Flaky,), {"robots_status": robots_status, "seen": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.block_on_close = False
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler.seen
    finally:
        server.shutdown()
        server.server_close()


def test_connection_errors_and_timeouts_are_skipped_and_the_crawl_goes_on(tmp_path: Path) -> None:
    settings = _settings(tmp_path, timeout_seconds=0.3, follow_sitemaps=False)
    with _flaky(200) as (origin, seen), WarcArchive(settings.archive) as archive:
        results = list(crawl(Source("flaky", origin + "/"), settings, archive))
    assert [type(r).__name__ for r in results] == ["Fetch", "Skipped", "Skipped", "Fetch"]
    assert [r.url for r in results] == [f"{origin}/", f"{origin}/drop", f"{origin}/slow", f"{origin}/ok"]
    assert "RemoteProtocolError" in results[1].reason  # type: ignore[union-attr]
    assert "ReadTimeout" in results[2].reason  # type: ignore[union-attr]


@pytest.mark.parametrize("status", [500, 503, 429])
def test_robots_server_error_means_crawl_nothing(tmp_path: Path, status: int) -> None:
    settings = _settings(tmp_path)
    with _flaky(status) as (origin, seen), WarcArchive(settings.archive) as archive:
        results = list(crawl(Source("down", origin + "/"), settings, archive))
    assert seen == ["/robots.txt"]
    (skipped,) = results
    assert isinstance(skipped, Skipped)
    assert skipped.url == origin + "/" and f"robots.txt unreachable (HTTP {status})" in skipped.reason
    assert _archived(settings.archive) == [(origin + "/robots.txt", status)]


def test_connection_refused(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    dead = f"http://127.0.0.1:{_closed_port()}/"
    write_tree(tmp_path / "sites" / "clinic", SMALL)
    with serve_sites(tmp_path / "sites") as origins, WarcArchive(settings.archive) as archive:
        (whole_source,) = crawl(Source("dead", dead), settings, archive)
        refused = fetch_one(dead + "page.html", settings, archive)
        after = fetch_one(origins["clinic"] + "/a.html", settings, archive, source_name="x", kind="reviews")
    assert isinstance(whole_source, Skipped) and "ConnectError" in whole_source.reason
    assert isinstance(refused, Skipped) and refused.stage == "crawl" and "ConnectError" in refused.reason
    assert isinstance(after, Fetch) and (after.status, after.source, after.kind) == (200, "x", "reviews")


def test_fetch_one_obeys_robots_and_follows_redirects(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    write_tree(tmp_path / "sites" / "clinic", CLINIC)
    with _server_log() as log, serve_sites(tmp_path / "sites") as origins, \
            WarcArchive(settings.archive) as archive:
        o = origins["clinic"]
        denied = fetch_one(o + "/private/secret.html", settings, archive)
        moved = fetch_one(o + "/old-page", settings, archive)
        bad = fetch_one("mailto:desk@clinic.example", settings, archive)
    assert denied == Skipped(o + "/private/secret.html", "crawl", "disallowed by robots.txt")
    assert isinstance(moved, Fetch) and (moved.url, moved.final_url) == (o + "/old-page", o + "/treatments/")
    assert bad == Skipped("mailto:desk@clinic.example", "crawl", "not an http(s) URL")
    assert "/private/secret.html" not in log.paths


@pytest.mark.parametrize(("href", "base", "expected"), [
    ("/a.html#frag", "http://h.example/x/", "http://h.example/a.html"),
    ("b.html", "http://h.example/x/", "http://h.example/x/b.html"),
    ("HTTP://H.Example:80/c?utm_source=x&q=1", None, "http://h.example/c?q=1"),
    ("http://h.example", None, "http://h.example/"),
    ("mailto:a@b.c", "http://h.example/", None),
    ("tel:+1555", "http://h.example/", None),
    ("javascript:void(0)", "http://h.example/", None),
    ("ftp://h.example/file", None, None),
    ("http://[::1/", None, None),
])
def test_normalize_url(href: str, base: str | None, expected: str | None) -> None:
    assert normalize_url(href, base) == expected
