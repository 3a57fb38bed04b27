"""``claimaudit evaluate claims``: the gold set is well formed and the scorer matches as documented."""

import hashlib
import json
from dataclasses import replace

import pytest

from pipeline.eval_claims import _GOLD_KEYS, SPLITS, _match, evaluate_claims, value_correct
from pipeline.records import CLAIM_TYPES, Claim
from pipeline.settings import PROJECT_ROOT, load_settings

GOLD = PROJECT_ROOT / "corpus" / "gold"


def _rows(name):
    return [json.loads(line) for line in (GOLD / name).read_text(encoding="utf-8").splitlines() if line.strip()]


def test_gold_is_well_formed_and_large_enough():
    docs = {d["doc"]: d for d in _rows("documents.jsonl")}
    claims = _rows("claims.jsonl")
    assert len(claims) >= 300
    for split in SPLITS:
        types = {c["type"] for c in claims if c["split"] == split}
        assert types == set(CLAIM_TYPES), (split, set(CLAIM_TYPES) - types)
    for c in claims:
        assert set(c) <= _GOLD_KEYS
        assert docs[c["doc"]]["split"] == c["split"] and docs[c["doc"]]["sha256"] == c["sha256"]
        assert c["source"] in ("page", "review") and (c["source"] == "review") == ("review" in c)
        assert 0 < len(c["text"]) <= 80 and len(c["text"].split()) <= 12, c["text"]  # spans, not sentences


def test_split_is_by_document():
    docs = _rows("documents.jsonl")
    assert {d["split"] for d in docs} == set(SPLITS)
    assert len({d["doc"] for d in docs}) == len(docs)


def test_sample_site_documents_are_the_annotated_files():
    for d in _rows("documents.jsonl"):
        if d["doc"].startswith("corpus/"):
            assert hashlib.sha256((PROJECT_ROOT / d["doc"]).read_bytes()).hexdigest() == d["sha256"], d["doc"]


def _claim(type_, start, end, **value):
    return Claim(type=type_, text="x" * (end - start), start=start, end=end, sentence=0, value=value)


def test_matching_is_one_to_one_by_type_and_overlap():
    from pipeline.eval_claims import GoldClaim

    gold = [GoldClaim("d", "dev", "page", "duration", 10, 20, "", {}, False, False),
            GoldClaim("d", "dev", "page", "duration", 30, 40, "", {}, False, False)]
    pred = [_claim("duration", 12, 25), _claim("duration", 15, 18), _claim("price", 30, 40)]
    # the largest overlap wins; a second prediction on the same gold claim is a false positive; types must agree
    assert _match(gold, pred) == [(0, 0)]


@pytest.mark.parametrize("gold,pred,ok", [
    ({"min_days": 0.042, "max_days": None}, {"min_days": 1 / 24, "max_days": None, "aspect": "session"}, True),
    ({"percent": 66.7}, {"percent": 66.67}, True),
    ({"low": 80, "high": None}, {"low": 80, "high": 80}, False),
    ({"assertion": "off_label"}, {"assertion": "fda_approved_for_pain"}, False),
])
def test_value_correctness(gold, pred, ok):
    assert value_correct(gold, pred) is ok


def test_evaluate_reports_both_splits_per_type():
    metrics, text = evaluate_claims(load_settings())
    for split in SPLITS:
        assert set(metrics[split]["per_type"]) == set(CLAIM_TYPES)
        assert metrics[split]["micro"]["gold"] > 0
    assert "held-out part" in text and "development part" in text
    assert not [n for n in metrics["notes"] if "unresolved" in n or "changed" in n], metrics["notes"]


def test_a_changed_document_is_skipped_and_named(tmp_path):
    """Gold for a file that changed since it was annotated is not scored against the wrong text."""
    s = load_settings()
    gold = tmp_path / "gold"
    gold.mkdir()
    doc = _rows("documents.jsonl")[-1]
    (gold / "documents.jsonl").write_text(json.dumps({**doc, "sha256": "0" * 64}) + "\n")
    (gold / "claims.jsonl").write_text("")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "gold").symlink_to(gold, target_is_directory=True)
    for name in ("patterns", "vocabulary", "consensus", "sites"):
        (corpus / name).symlink_to(s.corpus / name, target_is_directory=True)
    metrics, _ = evaluate_claims(replace(s, corpus=corpus))
    assert any(doc["doc"] in n and "changed" in n for n in metrics["notes"])
