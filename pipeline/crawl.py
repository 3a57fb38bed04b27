"""Polite crawler: robots.txt, per-host delay, sitemaps, same-site links; every response archived first.

``crawl(source, ...)`` walks one source breadth-first and yields a ``Fetch`` per page (any status, any
content type) or a ``Skipped`` with a reason; ``fetch_one(url, ...)`` fetches a single URL under the same
rules. Only pages are yielded: robots.txt and sitemap responses are archived and logged, not yielded,
and do not count towards ``max_pages``.

Rules, and where they come from:

- robots.txt (RFC 9309, parsed by protego) is fetched before anything else on an origin. 2xx: obey it
  (the group for our product token, else ``*``). Other 4xx (and a redirect chain longer than five hops):
  everything allowed. 429, 5xx, a connection error or a body cut off mid-read: the origin is treated as
  fully disallowed and nothing more is requested from it, as Google does.
- ``Crawl-delay`` is honoured when it is larger than ``settings.delay_seconds``. The delay is enforced
  per host:port across the whole process (all sources and threads), measured on the monotonic clock
  between the starts of two requests, robots and sitemap requests included.
- Redirects are followed here, not by httpx, so that each hop is archived and each target is checked
  against robots.txt and the scope before it is requested (at most five hops). A redirect to a page
  this crawl already fetched is not requested again: it yields ``Skipped(..., "already crawled (redirect
  to X)")`` (the 3xx itself is archived), so no page is analysed twice. Skip reasons start with the
  cause ("disallowed by robots.txt", "out of scope", "already crawled", "robots.txt unreachable",
  "body larger than", an httpx error name, "more than 5 redirects"), so callers can sort them by prefix.
- Bodies are read up to ``max_bytes``; a longer one is archived cut (``WARC-Truncated: length``) and
  yields ``Skipped``. Only text/html and application/xhtml+xml responses are parsed for links.
- Scope: ``site`` = same host:port as ``source.url``; ``prefix`` = URLs starting with ``source.url``;
  ``page`` = ``source.url`` only (its redirects may go anywhere on the same host:port).
"""

from __future__ import annotations

import logging
import threading
import time
import zlib
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urldefrag, urljoin, urlsplit, urlunsplit

import courlan
import httpx
import lxml.html
from lxml import etree
from protego import Protego

from .archive import WarcArchive
from .records import Fetch, Skipped, Source
from .settings import Settings

LOGGER = logging.getLogger(__name__)

MAX_REDIRECTS = 5
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
SCHEMES = ("http", "https")
STAGE = "crawl"
DISALLOWED = "disallowed by robots.txt"

Scope = Callable[[str], bool]


# --------------------------------------------------------------------------- URLs and scope


def normalize_url(href: str, base: str | None = None) -> str | None:
    """``href`` resolved against ``base`` and normalised; None unless it is an http(s) URL.

    courlan does the normalisation (lower-case scheme and host, default ports, percent-encoding, tracking
    query parameters such as ``utm_*``). The fragment is stripped here because courlan only drops it in
    ``strict`` mode, which also drops most query parameters. mailto:, tel:, javascript: and the like are
    dropped by the scheme test.
    """
    try:
        absolute, _fragment = urldefrag(urljoin(base, href.strip()) if base else href.strip())
        parts = urlsplit(absolute)
        if parts.scheme.lower() not in SCHEMES or not parts.hostname:
            return None
        url = courlan.clean_url(absolute)
        if url is None:
            return None
        parts = urlsplit(url)
    except ValueError:  # e.g. an invalid port or IPv6 literal
        return None
    # courlan writes "http://host/" as "http://host"; keep the slash so both spell one URL
    return urlunsplit(parts._replace(path="/")) if not parts.path else url


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


def _host_port(url: str) -> tuple[str, int | None]:
    parts = urlsplit(url)
    default = {"http": 80, "https": 443}.get(parts.scheme.lower())
    return (parts.hostname or "", parts.port or default)


def _scope(kind: str, start: str) -> Scope:
    if kind == "page":
        return lambda url: url == start
    if kind == "prefix":
        return lambda url: url.startswith(start)
    site = _host_port(start)
    return lambda url: _host_port(url) == site


def _anywhere(url: str) -> bool:
    return True


# --------------------------------------------------------------------------- politeness


class _HostClock:
    """Per-host:port request spacing shared by every crawl in the process.

    A thread reserves its slot under the lock and sleeps outside it, so concurrent crawls of one host
    (Prefect may run sources in threads) queue up instead of racing.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last: dict[tuple[str, int | None], float] = {}

    def wait(self, host: tuple[str, int | None], delay: float) -> None:
        with self._lock:
            now = time.monotonic()
            previous = self._last.get(host)
            slot = now if previous is None else max(now, previous + delay)
            self._last[host] = slot
        if slot > now:
            time.sleep(slot - now)


_CLOCK = _HostClock()


@dataclass(frozen=True, slots=True)
class _Robots:
    parser: Protego | None = None  # None: everything allowed
    blocked: str | None = None     # set when nothing may be fetched from the origin
    delay: float = 0.0
    sitemaps: tuple[str, ...] = ()


# --------------------------------------------------------------------------- one archived exchange


@dataclass(frozen=True, slots=True)
class _Exchange:
    url: str
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    fetched_at: str
    warc_file: str
    offset: int
    sha256: str
    truncated: str | None  # WARC-Truncated reason
    error: str | None      # the connection failed while the body was being read

    def header(self, name: str) -> str:
        name = name.lower()
        return next((v for k, v in self.headers if k.lower() == name), "")

    @property
    def media_type(self) -> str:
        return self.header("content-type").split(";", 1)[0].strip().lower()


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _describe(err: Exception) -> str:
    text = str(err)
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


def _skip(url: str, reason: str, level: int = logging.WARNING) -> Skipped:
    LOGGER.log(level, "skipped %s: %s", url, reason)
    return Skipped(url, STAGE, reason)


def _product_token(user_agent: str) -> str:
    # RFC 9309 matches robots.txt groups against the product token ("claimaudit"), not the whole header;
    # matching the full string would let a group for, say, "polite" apply to us.
    return user_agent.split("/", 1)[0].split()[0] if user_agent.strip() else "*"


def _client(settings: Settings) -> httpx.Client:
    return httpx.Client(
        headers={"User-Agent": settings.user_agent}, timeout=settings.timeout_seconds, follow_redirects=False
    )


class _Session:
    """One crawl's state: the client, the robots.txt cache and the archive."""

    def __init__(self, settings: Settings, archive: WarcArchive, client: httpx.Client, source: str, kind: str):
        self.settings = settings
        self.archive = archive
        self.client = client
        self.source = source
        self.kind = kind
        self.agent = _product_token(settings.user_agent)
        self._robots: dict[str, _Robots] = {}

    # ---- HTTP

    def request(self, url: str) -> _Exchange | Skipped:
        """One GET, spaced from the previous request to the host and archived whatever its status."""
        known = self._robots.get(_origin(url))
        _CLOCK.wait(_host_port(url), known.delay if known else self.settings.delay_seconds)
        fetched_at = _now()
        LOGGER.debug("GET %s", url)
        try:
            # The settings are passed per request too, so that a caller's client still gets our
            # user agent, timeout and no automatic redirects.
            with self.client.stream(
                "GET", url, headers={"User-Agent": self.settings.user_agent},
                timeout=self.settings.timeout_seconds, follow_redirects=False,
            ) as response:
                body, truncated, error = self._read_body(url, response)
                headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in response.headers.raw]
                request_headers = [
                    (k.decode("latin-1"), v.decode("latin-1")) for k, v in response.request.headers.raw
                ]
                warc_file, offset, sha256 = self.archive.write(
                    url, response.status_code, response.reason_phrase, headers, body, fetched_at,
                    request_headers, truncated=truncated,
                )
        except (httpx.HTTPError, httpx.InvalidURL) as err:
            LOGGER.debug("GET %s failed: %s", url, _describe(err))  # the caller logs the skip once
            return Skipped(url, STAGE, _describe(err))
        return _Exchange(
            url=url, status=response.status_code, headers=tuple(headers), body=body, fetched_at=fetched_at,
            warc_file=warc_file, offset=offset, sha256=sha256, truncated=truncated, error=error,
        )

    def _read_body(self, url: str, response: httpx.Response) -> tuple[bytes, str | None, str | None]:
        """Read at most ``max_bytes`` (decoded); return (body, WARC-Truncated reason, error)."""
        cap = self.settings.max_bytes
        chunks: list[bytes] = []
        size = 0
        try:
            for chunk in response.iter_bytes():
                if size + len(chunk) > cap:
                    chunks.append(chunk[: cap - size])
                    LOGGER.info("%s: body larger than %d bytes, archiving the first %d", url, cap, cap)
                    return b"".join(chunks), "length", None
                chunks.append(chunk)
                size += len(chunk)
        except httpx.HTTPError as err:
            truncated = "time" if isinstance(err, httpx.TimeoutException) else "disconnect"
            return b"".join(chunks), truncated, _describe(err)
        return b"".join(chunks), None, None

    # ---- robots.txt

    def robots(self, url: str) -> _Robots:
        origin = _origin(url)
        if origin not in self._robots:
            self._robots[origin] = self._fetch_robots(origin)
        return self._robots[origin]

    def _fetch_robots(self, origin: str) -> _Robots:
        delay = self.settings.delay_seconds
        url = origin + "/robots.txt"
        hops = 0
        while True:
            ex = self.request(url)
            if isinstance(ex, Skipped):
                return _Robots(blocked=f"robots.txt unreachable ({ex.reason})", delay=delay)
            if ex.error:
                return _Robots(blocked=f"robots.txt unreachable ({ex.error})", delay=delay)
            target = normalize_url(ex.header("location"), url) if ex.status in REDIRECT_STATUSES else None
            # RFC 9309 2.3.1.2: follow at least five redirects; a longer chain counts as "unavailable" (4xx)
            if target is None or hops == MAX_REDIRECTS:
                break
            url, hops = target, hops + 1
        status = ex.status
        if 200 <= status < 300:
            parser = Protego.parse(ex.body.decode("utf-8", errors="replace"))
            crawl_delay = parser.crawl_delay(self.agent) or 0.0
            if crawl_delay > delay:
                LOGGER.info("%s: honouring Crawl-delay %.2f s", url, crawl_delay)
            LOGGER.debug("%s: robots.txt parsed", url)
            return _Robots(parser=parser, delay=max(delay, crawl_delay), sitemaps=tuple(parser.sitemaps))
        if status == 429 or status >= 500:
            return _Robots(blocked=f"robots.txt unreachable (HTTP {status})", delay=delay)
        LOGGER.debug("%s: HTTP %d, everything allowed", url, status)
        return _Robots(delay=delay)

    def refusal(self, url: str, scope: Scope) -> str | None:
        """Why ``url`` may not be requested (scope, robots.txt), or None."""
        if not scope(url):
            return "out of scope"
        rules = self.robots(url)
        if rules.blocked:
            return f"{rules.blocked}; nothing is fetched from {_origin(url)}"
        if rules.parser is not None and not rules.parser.can_fetch(url, self.agent):
            return DISALLOWED
        return None

    # ---- one URL, redirects included

    def follow(self, url: str, scope: Scope, fetched: set[str]) -> tuple[Fetch | Skipped, _Exchange | None, int]:
        """Fetch ``url`` and its redirects; return (record, final exchange, number of requests made)."""
        current = url
        requests = 0
        for hop in range(MAX_REDIRECTS + 1):
            key = normalize_url(current) or current
            reason = self.refusal(key, scope)
            if reason is None and hop and key in fetched:
                reason = "already crawled"
            if reason is not None:
                # a policy decision (robots, scope, duplicate), not a failure: INFO; a blocked origin: WARNING
                level = logging.WARNING if reason.startswith("robots.txt unreachable") else logging.INFO
                return _skip(url, f"{reason} (redirect to {current})" if hop else reason, level), None, requests
            ex = self.request(current)
            requests += 1
            if isinstance(ex, Skipped):
                return _skip(url, f"{ex.reason} (redirect to {current})" if hop else ex.reason), None, requests
            fetched.add(key)
            if ex.error:
                reason = f"{ex.error} after {len(ex.body)} bytes (partial body archived)"
                return _skip(url, reason), None, requests
            target = normalize_url(ex.header("location"), current) if ex.status in REDIRECT_STATUSES else None
            if target is None:
                break
            LOGGER.info("%s: HTTP %d redirect to %s", current, ex.status, target)
            current = target
        else:
            return _skip(url, f"more than {MAX_REDIRECTS} redirects"), None, requests
        if ex.truncated == "length":
            return _skip(url, f"body larger than {self.settings.max_bytes} bytes"), None, requests
        LOGGER.info(
            "fetched %s%s: HTTP %d, %s, %d bytes", url, f" (landed on {current})" if current != url else "",
            ex.status, ex.media_type or "no content type", len(ex.body),
        )
        fetch = Fetch(
            url=url, final_url=current, status=ex.status, fetched_at=ex.fetched_at,
            content_type=ex.header("content-type"), sha256=ex.sha256, length=len(ex.body),
            warc_file=ex.warc_file, warc_offset=ex.offset, headers=ex.headers, source=self.source, kind=self.kind,
        )
        return fetch, ex, requests

    # ---- sitemaps

    def sitemap_urls(self, start: str, rules: _Robots, limit: int) -> list[str]:
        """Page URLs listed by the origin's sitemaps (robots ``Sitemap:`` lines, else /sitemap.xml).

        trafilatura's sitemap search is not used: it fetches by itself, outside the archive and the
        politeness rules. Sitemaps on other origins are ignored; indexes are expanded one level; fetching
        stops once ``limit`` URLs are known.
        """
        origin = _origin(start)
        declared = [u for u in (normalize_url(s) for s in rules.sitemaps) if u]
        same_origin = [u for u in declared if _origin(u) == origin]
        for other in sorted(set(declared) - set(same_origin)):
            LOGGER.debug("%s: sitemap on another origin ignored", other)
        pending = same_origin or [origin + "/sitemap.xml"]
        locs: list[str] = []
        for sitemap in pending:
            is_index, found = self._sitemap(sitemap, origin)
            children = found if is_index else []
            locs.extend([] if is_index else found)
            for child in children:
                if len(locs) >= limit:
                    break
                child_url = normalize_url(child)
                if child_url and _origin(child_url) == origin:
                    locs.extend(self._sitemap(child_url, origin)[1])  # nested indexes stop here
            if len(locs) >= limit:
                break
        return [u for u in (normalize_url(loc) for loc in locs) if u]

    def _sitemap(self, url: str, origin: str) -> tuple[bool, list[str]]:
        result, ex, _ = self.follow(url, lambda u: _origin(u) == origin, set())
        if ex is None or isinstance(result, Skipped):
            return False, []
        if ex.status != 200:
            LOGGER.debug("%s: sitemap HTTP %d, ignored", url, ex.status)
            return False, []
        is_index, locs = _sitemap_locs(ex.body, self.settings.max_bytes)
        LOGGER.info("%s: sitemap%s with %d URLs", url, " index" if is_index else "", len(locs))
        return is_index, locs


# --------------------------------------------------------------------------- parsing


def _sitemap_locs(body: bytes, cap: int) -> tuple[bool, list[str]]:
    """(is a sitemap index, the <loc> of each <url> or <sitemap>) from sitemap XML, gzipped or not."""
    if body[:2] == b"\x1f\x8b":
        try:
            body = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(body, cap)  # capped: no zip bombs
        except zlib.error:
            return False, []
    # recover=True reads the slightly broken XML real sites serve; no entities, no network (XXE)
    parser = etree.XMLParser(recover=True, resolve_entities=False, no_network=True)
    try:
        root = etree.fromstring(body, parser)
    except etree.XMLSyntaxError:
        return False, []
    if root is None:
        return False, []
    is_index = etree.QName(root).localname == "sitemapindex"
    locs = []
    # direct <loc> children only: image and video extensions nest their own <image:loc>
    for entry in root.iter("{*}url", "{*}sitemap"):
        loc = entry.find("{*}loc")
        if loc is not None and loc.text and loc.text.strip():
            locs.append(loc.text.strip())
    return is_index, locs


def _links(body: bytes, base_url: str) -> list[str]:
    """Absolute, normalised http(s) targets of the page's ``<a href>``, in document order."""
    try:
        doc = lxml.html.document_fromstring(body)
    except (etree.ParserError, ValueError):  # empty or undecodable document
        return []
    base = base_url
    for element in doc.iter("base"):
        href = element.get("href")
        if href:
            base = urljoin(base_url, href.strip())
            break
    links = []
    for anchor in doc.iter("a"):
        href = anchor.get("href")
        url = normalize_url(href, base) if href else None
        if url:
            links.append(url)
    return links


# --------------------------------------------------------------------------- public


def crawl(
    source: Source, settings: Settings, archive: WarcArchive, client: httpx.Client | None = None
) -> Iterator[Fetch | Skipped]:
    """Crawl one source breadth-first; yield a ``Fetch`` per page fetched or a ``Skipped`` with a reason.

    At most ``source.max_pages`` pages are requested (robots.txt and sitemaps not counted). ``client`` is
    closed at the end only when this function created it.
    """
    own = client is None
    http = client if client is not None else _client(settings)
    try:
        yield from _crawl(source, settings, archive, http)
    finally:
        if own:
            http.close()


def _crawl(source: Source, settings: Settings, archive: WarcArchive, client: httpx.Client) -> Iterator[Fetch | Skipped]:
    start = normalize_url(source.url)
    if start is None:
        yield _skip(source.url, "not an http(s) URL")
        return
    session = _Session(settings, archive, client, source.name, source.kind)
    in_scope = _scope(source.scope, start)
    # a page-scoped source may still redirect within its site
    redirect_scope = _scope("site", start) if source.scope == "page" else in_scope
    rules = session.robots(start)
    if rules.blocked:
        yield _skip(source.url, f"{rules.blocked}; nothing crawled for source {source.name!r}")
        return

    # the start URL is requested as written (so Fetch.url == source.url); the rest as normalised
    queue: deque[tuple[str, str]] = deque([(source.url, start)])
    seen = {start}
    if settings.follow_sitemaps and source.scope != "page":
        for url in session.sitemap_urls(start, rules, source.max_pages):
            if url not in seen and in_scope(url):
                seen.add(url)
                queue.append((url, url))

    fetched: set[str] = set()
    pages = skipped = 0
    while queue and pages < source.max_pages:
        url, key = queue.popleft()
        if key in fetched:  # already reached as the target of a redirect
            continue
        result, ex, requests = session.follow(url, redirect_scope, fetched)
        pages += 1 if requests else 0
        skipped += isinstance(result, Skipped)
        yield result
        if ex is None or ex.media_type not in HTML_TYPES or not isinstance(result, Fetch):
            continue
        for link in _links(ex.body, result.final_url):
            if link not in seen and in_scope(link):
                seen.add(link)
                queue.append((link, link))
    if queue and pages >= source.max_pages:
        LOGGER.info("%s: stopped at max_pages=%d with %d URLs not fetched", source.url, source.max_pages, len(queue))
    LOGGER.info("crawled %s: %d pages requested, %d skipped", source.url, pages, skipped)


def fetch_one(
    url: str,
    settings: Settings,
    archive: WarcArchive,
    client: httpx.Client | None = None,
    source_name: str = "",
    kind: str = "clinic",
) -> Fetch | Skipped:
    """Fetch a single URL under the crawl rules (robots.txt, delay, redirects, archive); no discovery.

    Redirects may lead to any host; each target's robots.txt is obeyed.
    """
    if normalize_url(url) is None:
        return _skip(url, "not an http(s) URL")
    own = client is None
    http = client if client is not None else _client(settings)
    try:
        session = _Session(settings, archive, http, source_name, kind)
        result, _ex, _requests = session.follow(url, _anywhere, set())
        return result
    finally:
        if own:
            http.close()
