"""Sentence classifier: promotional / evidential / neutral.

A scikit-learn Pipeline of word and character n-gram TF-IDF plus interpretable cue features
(hedges, superlatives, second-person address, imperatives, citations, numbers with units, testimonial
cues), then a logistic regression calibrated with sigmoid scaling. Model selection is by grouped
cross-validation on the training split only; the test split (whole passages, chosen by a hash of the
passage id) is never seen by any model choice.

The artefact is saved with skops (no pickle) next to a model card (JSON) holding the data digest,
library versions, metrics on the test split, the confusion matrix and the top features per class.
``load_model`` refuses an artefact whose bytes or scikit-learn version do not match its card.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import sklearn
from scipy import sparse
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import classification_report, confusion_matrix, f1_score, precision_score
from sklearn.model_selection import GridSearchCV, StratifiedGroupKFold
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.utils.validation import check_is_fitted

from .errors import BadInput, ModelError
from .records import SENTENCE_LABELS

LOGGER = logging.getLogger(__name__)

SEED = 20261121
TEST_SHARE_MOD = 5  # one passage group in five (by hash) is the held-out test split
ROW_KEYS = {"id", "text", "label", "register", "group", "source", "annotator"}

_CUES: dict[str, str] = {
    "hedge": r"\b(?:may|might|could|possibly|potentially|suggests?|appears?|likely|uncertain|unclear|limited|preliminary)\b",
    "superlative": r"\b(?:best|most|leading|top|premier|world[\s-]class|unmatched|revolutionary|breakthrough|miracle|amazing|incredible|life[\s-]changing|proven|guaranteed?|cutting[\s-]edge|state[\s-]of[\s-]the[\s-]art|\w+est)\b",
    "second_person": r"\b(?:you|your|you're|yours|yourself)\b",
    "imperative": r"^(?:call|book|schedule|contact|discover|start|try|get|take|find|learn|join|visit|reclaim|don't|stop|imagine|request|ask|experience|act|sign|click|reach)\b",
    "citation": r"\bet\s+al\b|\(\s*(?:19|20)\d\d\s*\)|\bdoi\b|\b(?:19|20)\d\d\s*;|\b(?:journal|meta-analysis|systematic\s+review|randomi[sz]ed|trial|cohort|cochrane|guideline)s?\b",
    "number_unit": r"\d+(?:\.\d+)?\s*(?:%|percent|mg|patients|participants|weeks|months|trials|studies|people|hours|days)\b|\bn\s*=\s*\d+|\b95%\s*ci\b|\bp\s*[<=]\s*0",
    "testimonial": r"\b(?:i|i'm|i've|my|me|mine)\b",
    "exclamation": r"!",
    "question": r"\?\s*$",
    "uncertainty_words": r"\b(?:small|few|weak|low[\s-]quality|bias|placebo|control(?:led)?|limitations?|evidence|data)\b",
}
_CUE_RX = {k: re.compile(v, re.I | re.M) for k, v in _CUES.items()}


class CueFeatures(TransformerMixin, BaseEstimator):
    """Counts of interpretable cues per sentence, scaled by log(1 + count), plus log length.

    Parameters
    ----------
    cues : tuple of str or None
        Names of the cues to compute (default: all of ``_CUES``).

    Examples
    --------
    >>> CueFeatures().fit(["x"]).transform(["Book your free consultation today!"]).shape[1] == len(_CUES) + 1
    True
    """

    def __init__(self, cues: tuple[str, ...] | None = None):
        self.cues = cues

    def fit(self, X: Iterable[str], y: Any = None) -> "CueFeatures":
        names = tuple(self.cues) if self.cues is not None else tuple(_CUES)
        unknown = [n for n in names if n not in _CUE_RX]
        if unknown:
            raise ValueError(f"unknown cues {unknown}; expected some of {sorted(_CUE_RX)}")
        self.cue_names_ = names
        # `fit` should always return `self`
        return self

    def transform(self, X: Iterable[str]) -> sparse.csr_matrix:
        check_is_fitted(self, "cue_names_")
        rows = []
        for text in X:
            counts = [len(_CUE_RX[n].findall(text)) for n in self.cue_names_]
            rows.append([np.log1p(c) for c in counts] + [np.log1p(len(text.split())) / 4])
        return sparse.csr_matrix(np.asarray(rows, dtype=np.float64).reshape(len(rows), len(self.cue_names_) + 1))

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        check_is_fitted(self, "cue_names_")
        return np.asarray([f"cue:{n}" for n in self.cue_names_] + ["cue:log_length"], dtype=object)


def build_pipeline(C: float = 4.0, char: bool = True) -> Pipeline:
    feats: list[tuple[str, Any]] = [
        ("word", TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True, lowercase=True,
                                 token_pattern=r"(?u)\b\w[\w'-]*\b|[!?%$]")),
        ("cues", CueFeatures()),
    ]
    if char:
        feats.insert(1, ("char", TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), min_df=3,
                                                 sublinear_tf=True, max_features=60000)))
    lr = LogisticRegression(C=C, max_iter=4000, class_weight="balanced", random_state=SEED)
    return Pipeline([
        ("features", FeatureUnion(feats)),
        ("clf", CalibratedClassifierCV(lr, method="sigmoid", cv=3, ensemble=False)),
    ])


# --------------------------------------------------------------------------- data


@dataclass(frozen=True, slots=True)
class Labelled:
    id: str
    text: str
    label: str
    register: str
    group: str
    source: str


def load_labelled(folder: Path) -> list[Labelled]:
    """Every ``*.jsonl`` in ``folder``; a malformed row is an error naming the file and line."""
    rows: list[Labelled] = []
    files = sorted(folder.glob("*.jsonl"))
    if not files:
        raise BadInput(f"{folder}: no labelled *.jsonl files")
    seen: set[str] = set()
    for path in files:
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                d = json.loads(line)
            except json.JSONDecodeError as err:
                raise BadInput(f"{path}:{n}: not JSON ({err.msg})") from None
            missing = {"id", "text", "label", "group"} - set(d)
            if missing:
                raise BadInput(f"{path}:{n}: missing keys {sorted(missing)}")
            if d["label"] not in SENTENCE_LABELS:
                raise BadInput(f"{path}:{n}: label '{d['label']}' is not one of {', '.join(SENTENCE_LABELS)}")
            if d["id"] in seen:
                raise BadInput(f"{path}:{n}: duplicate id '{d['id']}'")
            seen.add(d["id"])
            rows.append(Labelled(d["id"], d["text"], d["label"], d.get("register", ""), d["group"], d.get("source", "")))
    return rows


def is_test(group: str) -> bool:
    """The fixed held-out split: whole passages, by a hash of the passage id."""
    return int(hashlib.sha256(group.encode()).hexdigest(), 16) % TEST_SHARE_MOD == 0


def data_digest(folder: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(folder.glob("*.jsonl")):
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()


# --------------------------------------------------------------------------- train / save / load


_SKOPS_ID = re.compile(r'("__id__": )(\d+)|"(\d+)\.npy"')


def _deterministic_zip(data: bytes) -> bytes:
    """Make a skops archive byte-for-byte reproducible: skops names objects by Python ``id()`` (which
    changes from process to process) and stamps zip entries with the current time. Ids are renumbered
    in order of first appearance in schema.json (a one-to-one renaming, so loading is unchanged) and
    entries get a fixed timestamp and order."""
    src = zipfile.ZipFile(io.BytesIO(data))
    schema = src.read("schema.json").decode()
    order: dict[str, str] = {}
    for m in _SKOPS_ID.finditer(schema):
        order.setdefault(m.group(2) or m.group(3), str(len(order) + 1))

    def renumber(m: re.Match[str]) -> str:
        return f"{m.group(1)}{order[m.group(2)]}" if m.group(2) else f'"{order[m.group(3)]}.npy"'

    entries = {"schema.json": _SKOPS_ID.sub(renumber, schema).encode()}
    for name in src.namelist():
        if name != "schema.json":
            stem = name[:-4] if name.endswith(".npy") else None
            entries[f"{order[stem]}.npy" if stem in order else name] = src.read(name)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as dst:
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            dst.writestr(info, entries[name])
    return out.getvalue()


def _drop_process_state(model: Pipeline) -> None:
    """Remove state that differs between processes but is not needed to predict: the vectorizers' cache
    key ``_stop_words_id`` (an ``id()``) and ``stop_words_`` (a set, saved in hash order; introspection only,
    scikit-learn documents that it may be removed before pickling)."""
    for _, transformer in model.named_steps["features"].transformer_list:
        if isinstance(transformer, TfidfVectorizer):
            if hasattr(transformer, "_stop_words_id"):
                del transformer._stop_words_id
            if hasattr(transformer, "stop_words_"):
                transformer.stop_words_ = None


def _top_features(model: Pipeline, k: int = 15) -> dict[str, list[str]]:
    union: FeatureUnion = model.named_steps["features"]
    names = union.get_feature_names_out()
    calibrated = model.named_steps["clf"]
    lr = calibrated.calibrated_classifiers_[0].estimator
    out = {}
    for i, label in enumerate(lr.classes_):
        order = np.argsort(lr.coef_[i])[::-1]
        out[str(label)] = [str(names[j]).split("__", 1)[-1] for j in order[:k]]
    return out


def evaluate_model(model: Pipeline, rows: Sequence[Labelled]) -> dict[str, Any]:
    X = [r.text for r in rows]
    y = [r.label for r in rows]
    pred = model.predict(X)
    labels = list(SENTENCE_LABELS)
    report = classification_report(y, pred, labels=labels, output_dict=True, zero_division=0)
    return {
        "n": len(rows),
        "macro_f1": round(float(f1_score(y, pred, labels=labels, average="macro")), 4),
        "promotional_precision": round(float(precision_score(y, pred, labels=["promotional"], average="macro",
                                                             zero_division=0)), 4),
        "per_class": {lab: {m: round(float(report[lab][m]), 4) for m in ("precision", "recall", "f1-score", "support")}
                      for lab in labels},
        "confusion_matrix": {"labels": labels, "rows_true_cols_pred": confusion_matrix(y, pred, labels=labels).tolist()},
    }


def train(labelled_dir: Path, model_path: Path, grid: bool = True) -> dict[str, Any]:
    """Train on the training split with grouped CV model selection, evaluate on the test split,
    write the artefact and its card. Returns the card."""
    import skops.io as sio

    rows = load_labelled(labelled_dir)
    train_rows = [r for r in rows if not is_test(r.group)]
    test_rows = [r for r in rows if is_test(r.group)]
    X = [r.text for r in train_rows]
    y = [r.label for r in train_rows]
    groups = [r.group for r in train_rows]
    cv = StratifiedGroupKFold(n_splits=5, shuffle=True, random_state=SEED)
    params = {"clf__estimator__C": [1.0, 4.0, 16.0]} if grid else {"clf__estimator__C": [4.0]}
    search = GridSearchCV(build_pipeline(), params, scoring="f1_macro", cv=cv, n_jobs=1, refit=True)
    search.fit(X, y, groups=groups)
    model = search.best_estimator_
    _drop_process_state(model)
    data = _deterministic_zip(sio.dumps(model))
    model_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = model_path.with_suffix(".tmp")
    tmp.write_bytes(data)
    tmp.replace(model_path)
    card = {
        "model": model_path.name,
        "model_sha256": hashlib.sha256(data).hexdigest(),
        "task": "sentence label: promotional | evidential | neutral",
        "labels": list(SENTENCE_LABELS),
        "scikit_learn": sklearn.__version__,
        "skops": _skops_version(),
        "data": {
            "folder": "corpus/labelled",
            "files": sorted(p.name for p in labelled_dir.glob("*.jsonl")),
            "digest": data_digest(labelled_dir),
            "n_train": len(train_rows),
            "n_test": len(test_rows),
            "split": f"test = passages whose sha256(group) % {TEST_SHARE_MOD} == 0",
            "external": "none (../shared/data was not used for this model)",
        },
        "selection": {"cv": "StratifiedGroupKFold(5) on the training split, scoring macro-F1",
                      "grid": {k: v for k, v in params.items()},
                      "best": {k: v for k, v in search.best_params_.items()},
                      "cv_macro_f1": round(float(search.best_score_), 4)},
        "test": evaluate_model(model, test_rows),
        "top_features": _top_features(model),
        "seed": SEED,
    }
    card_path(model_path).write_text(json.dumps(card, indent=2, sort_keys=True) + "\n")
    return card


def _skops_version() -> str:
    from importlib.metadata import version

    return version("skops")


def card_path(model_path: Path) -> Path:
    return model_path.with_name(model_path.stem + ".card.json")


@dataclass(frozen=True)
class SentenceModel:
    pipeline: Pipeline
    card: dict[str, Any]

    @property
    def model_id(self) -> str:
        return f"{self.card['model']}@{self.card['model_sha256'][:12]}"

    def predict(self, texts: Sequence[str]) -> list[tuple[str, float]]:
        """(label, p_promotional) per sentence."""
        if not texts:
            return []
        proba = self.pipeline.predict_proba(list(texts))
        classes = list(self.pipeline.classes_)
        p_idx = classes.index("promotional")
        best = proba.argmax(axis=1)
        return [(str(classes[b]), round(float(p[p_idx]), 4)) for b, p in zip(best, proba)]


def load_model(model_path: Path) -> SentenceModel:
    """Load the skops artefact after checking it against its card (bytes and scikit-learn version)."""
    import skops.io as sio

    cpath = card_path(model_path)
    if not model_path.exists() or not cpath.exists():
        raise ModelError(f"{model_path}: model or card missing; run 'claimaudit train'")
    card = json.loads(cpath.read_text())
    data = model_path.read_bytes()
    if hashlib.sha256(data).hexdigest() != card.get("model_sha256"):
        raise ModelError(f"{model_path}: bytes do not match the digest in {cpath.name}; retrain with 'claimaudit train'")
    if card.get("scikit_learn") != sklearn.__version__:
        raise ModelError(f"{model_path}: trained with scikit-learn {card.get('scikit_learn')}, "
                         f"running {sklearn.__version__}; retrain with 'claimaudit train'")
    trusted = [t for t in sio.get_untrusted_types(data=data) if t.startswith(("pipeline.classify.", "sklearn.", "numpy.", "scipy."))]
    untrusted = [t for t in sio.get_untrusted_types(data=data) if t not in trusted]
    if untrusted:
        raise ModelError(f"{model_path}: artefact holds unexpected types {untrusted}")
    return SentenceModel(sio.loads(data, trusted=trusted), card)

