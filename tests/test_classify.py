"""The committed classifier: its card matches the corpus, it loads safely, and it meets its floors."""

import json
from pathlib import Path

import pytest

from pipeline.classify import (CueFeatures, card_path, data_digest, evaluate_model, is_test, load_labelled,
                               load_model)
from pipeline.errors import BadInput, ModelError
from pipeline.settings import load_settings

S = load_settings()
FLOORS = {"macro_f1": 0.85, "promotional_precision": 0.85}  # issue targets; the card must meet them


@pytest.fixture(scope="module")
def model():
    return load_model(S.model)


def test_card_matches_the_labelled_corpus(model):
    assert model.card["data"]["digest"] == data_digest(S.labelled_dir), \
        "corpus/labelled changed since the model was trained: run 'claimaudit train' and commit models/"


def test_test_split_meets_the_floors(model):
    rows = [r for r in load_labelled(S.labelled_dir) if is_test(r.group)]
    metrics = evaluate_model(model.pipeline, rows)
    assert metrics == model.card["test"], "the card's metrics are the ones this model gives"
    for key, floor in FLOORS.items():
        assert metrics[key] >= floor, (key, metrics[key])


def test_split_keeps_passages_whole():
    rows = load_labelled(S.labelled_dir)
    by_group = {}
    for r in rows:
        by_group.setdefault(r.group, set()).add(is_test(r.group))
    assert all(len(v) == 1 for v in by_group.values())
    share = sum(is_test(r.group) for r in rows) / len(rows)
    assert 0.12 < share < 0.3


def test_predictions_are_labels_with_probabilities(model):
    out = model.predict(["Book your free consultation today and reclaim your life!",
                         "A 2019 meta-analysis of 7 trials (211 patients) found relief lasted about two weeks.",
                         "Parking is available behind the building."])
    assert [lab for lab, _ in out] == ["promotional", "evidential", "neutral"]
    assert out[0][1] > 0.5 > out[1][1]


def test_tampered_artefact_is_refused(tmp_path, model):
    m = tmp_path / "m.skops"
    m.write_bytes(S.model.read_bytes() + b"x")
    card_path(m).write_text(card_path(S.model).read_text())
    with pytest.raises(ModelError, match="do not match the digest"):
        load_model(m)


def test_other_scikit_learn_version_is_refused(tmp_path):
    m = tmp_path / "m.skops"
    m.write_bytes(S.model.read_bytes())
    card = json.loads(card_path(S.model).read_text())
    card["scikit_learn"] = "0.0.1"
    card_path(m).write_text(json.dumps(card))
    with pytest.raises(ModelError, match="trained with scikit-learn 0.0.1"):
        load_model(m)


def test_missing_model_says_how_to_fix(tmp_path):
    with pytest.raises(ModelError, match="claimaudit train"):
        load_model(tmp_path / "none.skops")


@pytest.mark.parametrize("line,message", [
    ('{"id": "x", "text": "t", "label": "salesy", "group": "g"}', "label 'salesy' is not one of"),
    ('{"id": "x", "text": "t"}', "missing keys"),
    ("not json", "not JSON"),
])
def test_bad_labelled_rows_name_file_and_line(tmp_path, line, message):
    (tmp_path / "bad.jsonl").write_text(line + "\n")
    with pytest.raises(BadInput, match=message) as err:
        load_labelled(tmp_path)
    assert "bad.jsonl:1" in str(err.value)


def test_cue_features_are_named_and_counted():
    cf = CueFeatures().fit(["x"])
    X = cf.transform(["Call us today! You deserve the best care.", "Orhurhu et al. (2019) pooled 7 trials."])
    names = list(cf.get_feature_names_out())
    row0, row1 = X.toarray()
    assert row0[names.index("cue:imperative")] > 0 and row0[names.index("cue:second_person")] > 0
    assert row1[names.index("cue:citation")] > 0 and row1[names.index("cue:second_person")] == 0
    with pytest.raises(ValueError, match="unknown cues"):
        CueFeatures(cues=("nope",)).fit(["x"])


@pytest.mark.slow
def test_training_is_reproducible_byte_for_byte(tmp_path):
    from pipeline.classify import train

    a = train(S.labelled_dir, tmp_path / "a" / "m.skops", grid=False)
    b = train(S.labelled_dir, tmp_path / "b" / "m.skops", grid=False)
    assert a["model_sha256"] == b["model_sha256"]
    assert (tmp_path / "a" / "m.skops").read_bytes() == (tmp_path / "b" / "m.skops").read_bytes()
