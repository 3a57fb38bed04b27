"""The local site server: conventions of corpus/sites/ served over real HTTP on 127.0.0.1."""

from __future__ import annotations

import http.client
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from pipeline.errors import BadInput
from pipeline.settings import load_settings
from pipeline.sites import serve_sites, write_sources
from pipeline.sources import load_sources
from tests.conftest import write_tree


@pytest.fixture
def sites(tmp_path: Path) -> Path:
    write_tree(tmp_path / "sites" / "alpha-clinic", {
        "index.html": '<a href="{{ORIGIN}}/about/">About</a>',
        "about/index.html": "<p>about us</p>",
        "notes.txt": "origin={{ORIGIN}}",
        "sitemap.xml": "<urlset><url><loc>{{ORIGIN}}/about/</loc></url></urlset>",
        "style.css": "body{}  /* {{ORIGIN}} */",
        "brochure.pdf": b"%PDF-1.4 {{ORIGIN}}",
        "_redirects": "# old URLs\n/ketamine-for-pain /about/ 301\n/temp /notes.txt 302\n\n",
        "_private.html": "hidden",
        ".env": "SECRET=1",
        "_drafts/page.html": "draft",
        "empty/readme.txt": "no index here",
    })
    write_tree(tmp_path / "sites" / "patient-reviews", {"index.html": "reviews"})
    write_tree(tmp_path / "sites" / "state-university-research", {"index.html": "research"})
    write_tree(tmp_path / "sites" / "_shared", {"index.html": "not a site"})
    (tmp_path / "outside.txt").write_text("outside the root")
    return tmp_path / "sites"


def _raw_get(origin: str, path: str) -> int:
    """GET with the path sent exactly as written (httpx would normalise '..' away)."""
    parts = urlsplit(origin)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def test_serves_each_folder_on_its_own_port(sites: Path) -> None:
    with serve_sites(sites) as origins:
        assert sorted(origins) == ["alpha-clinic", "patient-reviews", "state-university-research"]
        assert len({urlsplit(o).port for o in origins.values()}) == 3
        assert all(o.startswith("http://127.0.0.1:") for o in origins.values())
        with httpx.Client() as client:
            assert client.get(origins["patient-reviews"] + "/").text == "reviews"


def test_conventions(sites: Path) -> None:
    with serve_sites(sites) as origins, httpx.Client() as client:
        origin = origins["alpha-clinic"]
        home = client.get(origin + "/")
        assert home.status_code == 200
        assert home.headers["content-type"] == "text/html; charset=utf-8"
        assert home.text == f'<a href="{origin}/about/">About</a>'
        assert client.get(origin + "/about/").text == "<p>about us</p>"
        assert client.get(origin + "/notes.txt").text == f"origin={origin}"
        assert f"<loc>{origin}/about/</loc>" in client.get(origin + "/sitemap.xml").text
        # only .html/.xml/.txt are templated
        assert client.get(origin + "/style.css").text == "body{}  /* {{ORIGIN}} */"
        pdf = client.get(origin + "/brochure.pdf")
        assert pdf.headers["content-type"] == "application/pdf"
        assert pdf.content == b"%PDF-1.4 {{ORIGIN}}"
        # a folder without its slash is redirected; a folder with no index.html is not listed
        bare = client.get(origin + "/about")
        assert (bare.status_code, bare.headers["location"]) == (301, origin + "/about/")
        assert client.get(origin + "/empty/").status_code == 404


def test_redirects_file(sites: Path) -> None:
    with serve_sites(sites) as origins, httpx.Client() as client:
        origin = origins["alpha-clinic"]
        moved = client.get(origin + "/ketamine-for-pain")
        assert (moved.status_code, moved.headers["location"]) == (301, origin + "/about/")
        temp = client.get(origin + "/temp")
        assert (temp.status_code, temp.headers["location"]) == (302, origin + "/notes.txt")


@pytest.mark.parametrize("path", [
    "/_redirects", "/_private.html", "/.env", "/_drafts/page.html", "/nope.html",
    "/../outside.txt", "/%2e%2e/outside.txt", "/about/../../outside.txt", "/..%2foutside.txt",
])
def test_hidden_missing_and_outside_are_404(sites: Path, path: str) -> None:
    with serve_sites(sites) as origins:
        assert _raw_get(origins["alpha-clinic"], path) == 404


def test_servers_stop_when_the_block_ends(sites: Path) -> None:
    with serve_sites(sites) as origins:
        origin = origins["patient-reviews"]
    with pytest.raises(httpx.ConnectError):
        httpx.get(origin + "/", timeout=2)


def test_bad_redirects_file_is_bad_input(tmp_path: Path) -> None:
    write_tree(tmp_path / "site", {"index.html": "x", "_redirects": "/a /b 200\n"})
    with pytest.raises(BadInput, match=r"_redirects: line 1: status '200'"), serve_sites(tmp_path):
        pass


def test_missing_sites_folder_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="sites folder not found"), serve_sites(tmp_path / "nope"):
        pass


def test_write_sources_round_trips_through_load_sources(sites: Path, tmp_path: Path) -> None:
    with serve_sites(sites) as origins:
        path = write_sources(origins, tmp_path / "out" / "sources.yaml", max_pages=7)
        overridden = write_sources(origins, tmp_path / "other.yaml", kinds={"alpha-clinic": "evidence"})
    loaded = load_sources(path, load_settings())
    assert [(s.name, s.url, s.kind, s.max_pages, s.scope) for s in loaded] == [
        ("alpha-clinic", origins["alpha-clinic"] + "/", "clinic", 7, "site"),
        ("patient-reviews", origins["patient-reviews"] + "/", "reviews", 7, "site"),
        ("state-university-research", origins["state-university-research"] + "/", "evidence", 7, "site"),
    ]
    assert load_sources(overridden, load_settings())[0].kind == "evidence"
