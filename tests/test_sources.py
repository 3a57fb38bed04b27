"""Sources file: valid files load with defaults; every bad file is one BadInput line naming the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.errors import BadInput
from pipeline.records import Source
from pipeline.settings import load_settings
from pipeline.sources import load_sources

GOOD = """\
sources:
  - name: Example Ketamine Clinic
    url: https://clinic.example/
    kind: clinic
    max_pages: 50
    scope: site
  - name: Reviews
    url: http://reviews.example:8080/clinic/1
    kind: reviews
    scope: prefix
  - name: Paper
    url: https://uni.example/paper.html
    kind: evidence
    max_pages: 1
    scope: page
"""


def test_valid_file_loads_with_defaults(tmp_path: Path) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text(GOOD)
    sources = load_sources(path, load_settings(max_pages=12))
    assert sources == [
        Source("Example Ketamine Clinic", "https://clinic.example/", "clinic", 50, "site"),
        Source("Reviews", "http://reviews.example:8080/clinic/1", "reviews", 12, "prefix"),
        Source("Paper", "https://uni.example/paper.html", "evidence", 1, "page"),
    ]


def test_kind_and_scope_default_to_clinic_and_site(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("sources:\n  - {name: A, url: 'https://a.example/'}\n")
    assert load_sources(path, load_settings()) == [Source("A", "https://a.example/", "clinic", 50, "site")]


ENTRY = "  - {name: Foo, url: 'https://foo.example/'}\n"

# (file content, what the message must say after "<file>: ")
BAD = [
    ("", "missing top-level 'sources:' list"),
    ("- a\n- b\n", "missing top-level 'sources:' list"),
    ("source:\n" + ENTRY, "missing top-level 'sources:' list"),
    ("sources:\n" + ENTRY + "extra: 1\n", "unknown top-level key(s) 'extra'"),
    ("sources: {name: Foo}\n", "'sources' must be a list"),
    ("sources: []\n", "'sources' is empty"),
    ("sources:\n  - [1, 2]\n", "entry 1: expected a mapping"),
    ("sources:\n  - name: Foo\n    url: [unclosed\n", "not valid YAML at line 4"),
    ("sources:\n\t- name: Foo\n", "not valid YAML at line 2"),
    ("sources:\n  - {url: 'https://x.example/'}\n", "entry 1: name is missing"),
    ("sources:\n  - {name: '  ', url: 'https://x.example/'}\n", "entry 1: name '  ' must be a non-empty string"),
    ("sources:\n  - {name: 7, url: 'https://x.example/'}\n", "entry 1: name 7 must be a non-empty string"),
    ("sources:\n" + ENTRY + "  - {name: Bar}\n", "entry 2 ('Bar'): url is missing"),
    ("sources:\n" + ENTRY + "  - {name: Bar, url: 'ftp://x'}\n",
     "entry 2 ('Bar'): url 'ftp://x' is not an http(s) URL"),
    ("sources:\n  - {name: Foo, url: 'clinic.example'}\n",
     "entry 1 ('Foo'): url 'clinic.example' is not an http(s) URL"),
    ("sources:\n  - {name: Foo, url: 'https://'}\n", "url 'https://' is not an http(s) URL"),
    ("sources:\n  - {name: Foo, url: 'http://x.example:port/'}\n", "is not an http(s) URL"),
    ("sources:\n  - {name: Foo, url: 'http://x.example/a b'}\n", "is not an http(s) URL"),
    ("sources:\n  - {name: Foo, url: 42}\n", "url 42 is not an http(s) URL"),
    ("sources:\n  - {name: Foo, url: 'https://x.example/', kind: blog}\n",
     "entry 1 ('Foo'): kind 'blog' is not one of clinic | reviews | evidence"),
    ("sources:\n  - {name: Foo, url: 'https://x.example/', scope: all}\n",
     "entry 1 ('Foo'): scope 'all' is not one of site | page | prefix"),
    ("sources:\n  - {name: Foo, url: 'https://x.example/', max_pages: 0}\n", "entry 1 ('Foo'): max_pages 0 must be"),
    ("sources:\n  - {name: Foo, url: 'https://x.example/', max_pages: '10'}\n", "max_pages '10' must be"),
    ("sources:\n  - {name: Foo, url: 'https://x.example/', max_pages: yes}\n", "max_pages True must be"),
    ("sources:\n  - {name: Foo, url: 'https://x.example/', max_pages: 2.5}\n", "max_pages 2.5 must be"),
    ("sources:\n  - {name: Foo, url: 'https://x.example/', maxpages: 3}\n",
     "entry 1 ('Foo'): unknown key(s) 'maxpages'; expected some of name, url, kind, max_pages, scope"),
    ("sources:\n" + ENTRY + "  - {name: foo, url: 'https://other.example/'}\n",
     "entry 2 ('foo'): name duplicates entry 1"),
    ("sources:\n  - {name: \"Foo\\nBar\", url: 'ftp://x'}\n", "entry 1 ('Foo\\nBar'): url 'ftp://x'"),
]


@pytest.mark.parametrize(("content", "expected"), BAD, ids=[e for _, e in BAD])
def test_bad_sources_file(tmp_path: Path, content: str, expected: str) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text(content)
    with pytest.raises(BadInput) as caught:
        load_sources(path, load_settings())
    message = str(caught.value)
    assert message.startswith(f"{path}: ")
    assert expected in message
    assert "\n" not in message


@pytest.mark.parametrize(("make", "expected"), [
    (lambda p: None, "sources file not found"),
    (lambda p: p.mkdir(), "is a folder"),
    (lambda p: p.write_bytes(b"sources:\n  - name: \xff\n"), "not UTF-8"),
])
def test_unreadable_file(tmp_path: Path, make, expected: str) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "sources.yaml"
    make(path)
    with pytest.raises(BadInput, match=expected) as caught:
        load_sources(path, load_settings())
    assert str(caught.value).startswith(f"{path}: ")
    assert "\n" not in str(caught.value)
