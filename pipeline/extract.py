"""Extract stage: archived HTML bytes -> main text, metadata and reviews (``Extracted``).

Main text and metadata come from trafilatura. Testimonial and review blocks are pruned from the
tree before trafilatura sees it and extracted separately, so reviews are kept apart from the page's
own copy: structured reviews (schema.org JSON-LD / microdata) through extruct, testimonial markup
through lxml (trafilatura drops most testimonial blocks anyway, see STACK.md).

Pure: the same bytes and URL give the same ``Extracted``.
"""

from __future__ import annotations

import logging
import re
from typing import Any, Iterator

import extruct
import lxml.html
import trafilatura
from lxml import etree

from .records import Extracted, Review

LOGGER = logging.getLogger(__name__)

# Class-name tokens that mark a single testimonial or review block in clinic and review-site markup.
REVIEW_CLASS_TOKENS = ("testimonial", "testimonial-card", "testimonial-item", "review", "review-card", "review-item",
                      "review-entry", "patient-story", "patient-review")
_CLASS_TEST = " or ".join(
    f'contains(concat(" ", normalize-space(@class), " "), " {t} ")' for t in REVIEW_CLASS_TOKENS
)
REVIEW_XPATH = f"//*[{_CLASS_TEST}]"
# Function words used to tell English from other languages when the page declares no language.
_EN_FUNCTION_WORDS = frozenset(
    "the and of to a in is for that with it as are on be this you your by or can from at not".split()
)
_WS = re.compile(r"[ \t\u00a0]+")


def _parse_html(body: bytes | str) -> lxml.html.HtmlElement | None:
    try:
        tree = lxml.html.fromstring(body)
    except (etree.ParserError, ValueError):
        return None
    return tree


def _declared_language(tree: lxml.html.HtmlElement) -> str | None:
    lang = tree.get("lang") or tree.get("xml:lang")
    if lang:
        return lang.split("-")[0].strip().lower() or None
    return None


def _guess_language(text: str) -> str | None:
    words = re.findall(r"[a-z]+", text.lower()[:5000])
    if len(words) < 20:
        return None
    share = sum(w in _EN_FUNCTION_WORDS for w in words) / len(words)
    return "en" if share >= 0.08 else None


def _clean(text: str | None) -> str:
    return _WS.sub(" ", text or "").strip()


def _rating(value: Any) -> float | None:
    if isinstance(value, dict):
        value = value.get("ratingValue")
    if isinstance(value, list):
        value = value[0] if value else None
    try:
        return float(str(value).strip()) if value not in (None, "") else None
    except ValueError:
        return None


def _name(value: Any) -> str | None:
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict):
        value = value.get("name")
    return _clean(str(value)) if value else None


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for v in node.values():
            yield from _walk(v)
    elif isinstance(node, list):
        for v in node:
            yield from _walk(v)


def _types(item: dict[str, Any]) -> set[str]:
    t = item.get("@type", ())
    return {str(x).rsplit("/", 1)[-1] for x in (t if isinstance(t, list) else [t])}


def structured_reviews(html: str, url: str) -> tuple[list[Review], float | None]:
    """schema.org Review items and the first AggregateRating value, from JSON-LD and microdata."""
    try:
        data = extruct.extract(html, base_url=url, syntaxes=["json-ld", "microdata"], uniform=True)
    except Exception as err:  # extruct raises many parser errors; a page without usable data is fine
        LOGGER.info("no structured data: %s (%s)", url, err)
        return [], None
    reviews: list[Review] = []
    aggregate: float | None = None
    for syntax in ("json-ld", "microdata"):
        for item in _walk(data.get(syntax, [])):
            kinds = _types(item)
            if "AggregateRating" in kinds and aggregate is None:
                aggregate = _rating(item)
            if "aggregateRating" in item and aggregate is None:
                aggregate = _rating(item["aggregateRating"])
            if "Review" in kinds:
                text = _clean(item.get("reviewBody") or item.get("description"))
                if text:
                    reviews.append(Review(
                        author=_name(item.get("author")),
                        rating=_rating(item.get("reviewRating")),
                        date=_clean(str(item.get("datePublished"))) if item.get("datePublished") else None,
                        text=text,
                        origin="json-ld" if syntax == "json-ld" else "microdata",
                    ))
    return reviews, aggregate


def _html_rating(el: lxml.html.HtmlElement) -> float | None:
    for node in el.xpath('.//*[@data-rating] | .//*[@itemprop="ratingValue"]'):
        value = _rating(node.get("data-rating") or node.get("content") or node.text_content())
        if value is not None:
            return value
    stars = el.xpath('string(.//*[contains(@class, "rating") or contains(@class, "stars")])')
    return float(stars.count("★")) if "★" in stars else None


def html_testimonials(tree: lxml.html.HtmlElement) -> list[Review]:
    """Innermost elements whose class marks a testimonial or review; the author from <cite>/.author."""
    out: list[Review] = []
    for el in tree.xpath(REVIEW_XPATH):
        if el.xpath(f".//*[{_CLASS_TEST}]"):
            continue  # a container of several reviews; its children are taken one by one
        author_nodes = el.xpath('.//cite | .//*[contains(@class, "author")] | .//*[@itemprop="author"]')
        author = _clean(author_nodes[0].text_content()).lstrip("—–- ") if author_nodes else None
        parts = el.xpath('.//p | .//*[@itemprop="reviewBody"]')
        text = " ".join(_clean(p.text_content()) for p in parts) if parts else _clean(el.text_content())
        if author and text.endswith(author):
            text = text[: -len(author)].rstrip(" —–-")
        date_nodes = el.xpath(".//time/@datetime | .//time/text()")
        if text:
            out.append(Review(author=author or None, rating=_html_rating(el),
                              date=_clean(str(date_nodes[0])) if date_nodes else None, text=text, origin="html"))
    return out


def _norm_key(text: str) -> str:
    return re.sub(r"\W+", " ", text.lower()).strip()[:200]


def extract(body: bytes | str, url: str) -> Extracted | None:
    """Main text, metadata and reviews of one HTML page; ``None`` when nothing usable is found."""
    html = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else body
    tree = _parse_html(html)
    if tree is None:
        LOGGER.info("unparseable HTML: %s", url)
        return None
    reviews, aggregate = structured_reviews(html, url)
    seen = {_norm_key(r.text) for r in reviews}
    for r in html_testimonials(tree):
        if _norm_key(r.text) not in seen:  # the same review shown in HTML and JSON-LD is kept once
            seen.add(_norm_key(r.text))
            reviews.append(r)
    result = trafilatura.bare_extraction(
        html, url=url, with_metadata=True, include_comments=False, include_tables=True,
        prune_xpath=REVIEW_XPATH, deduplicate=False,
        # no guessing from copyright lines or URLs: a page's date must be stated (JSON-LD, meta, <time>)
        date_extraction_params={"extensive_search": False, "original_date": True},
    )
    text = (result.text if result is not None else "") or ""
    if not text.strip() and not reviews:
        LOGGER.info("no main text: %s", url)
        return None
    language = _declared_language(tree) or _guess_language(text)
    return Extracted(
        text=text,
        title=(result.title if result is not None else None) or None,
        author=(result.author if result is not None else None) or None,
        published=(result.date if result is not None else None) or None,
        language=language,
        reviews=tuple(reviews),
        aggregate_rating=aggregate,
    )
