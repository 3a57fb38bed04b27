"""``claimaudit evaluate verdicts``: locating seed quotes, aggregating claim verdicts, the metrics, and the
figures on the real seeds and sample sites (when ../shared is present)."""

import pytest

from pipeline import eval_verdicts as ev
from pipeline.cli import main
from pipeline.errors import BadInput
from pipeline.records import Claim, Verdict
from pipeline.settings import load_settings


@pytest.mark.parametrize("quote,text,expected", [
    ("relief lasting\n  about two weeks", "A review found relief lasting about  two weeks.", [(15, 46)]),
    ("Those suffering from cancer pain ... may also find it to be beneficial.",
     "Those suffering from cancer pain and postoperative pain may also find it to be beneficial.",
     [(0, 32), (56, 90)]),
    ("not in the text", "Something else entirely.", []),
    ("second ... first", "first and second", []),  # parts must come in order
])
def test_locate(quote, text, expected):
    spans = ev.locate(quote, text)
    assert spans == expected
    for (a, b), part in zip(spans, quote.split("...")):
        assert " ".join(text[a:b].split()) == " ".join(part.split())


def claim(label):
    return Claim(type="condition", text="x", start=0, end=1, sentence=0, value={},
                 verdict=Verdict(label) if label else None)


@pytest.mark.parametrize("labels,expected", [
    ([], "not_assessed"),
    (["not_assessed"], "not_assessed"),
    (["consistent", "not_assessed"], "consistent"),
    (["consistent", "unsupported"], "unsupported"),
    (["overstated", "unsupported", "consistent"], "overstated"),
    (["overstated", "contradicted"], "contradicted"),
])
def test_aggregate_most_severe_problem_else_consistent(labels, expected):
    assert ev.aggregate([claim(lab) for lab in labels]) == expected


def test_metrics():
    rows = [ev.SeedResult("a", "overstated", "contradicted", (), True),   # a problem, wrong label
            ev.SeedResult("b", "consistent", "overstated", (), True),     # a false accusation
            ev.SeedResult("c", "unsupported", "not_assessed", (), True),  # a miss
            ev.SeedResult("d", "consistent", "consistent", (), True)]
    m = ev.metrics_of(rows)
    assert (m["n"], m["agree"], m["agreement"]) == (4, 1, 0.25)
    assert (m["problem_flagged"], m["problem_precision"], m["problem_precision_exact_label"]) == (2, 0.5, 0.0)
    assert m["problem_recall"] == 0.5
    assert m["confusion_rows_seed_cols_ours"]["consistent"]["overstated"] == 1
    assert [d["id"] for d in m["disagreements"]] == ["a", "b", "c"]
    assert "exact agreement" in ev.render(m)


def test_missing_shared_is_a_one_line_bad_input(tmp_path, monkeypatch, capsys):
    settings = load_settings().replace(root=tmp_path / "project")
    with pytest.raises(BadInput, match="shared"):
        ev.evaluate(settings)
    monkeypatch.setattr(ev, "shared_dir", lambda s: tmp_path / "nowhere")
    assert main(["evaluate", "verdicts"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("claimaudit: ") and err.count("\n") == 1 and "Traceback" not in err


SHARED = ev.shared_dir(load_settings())


@pytest.mark.skipif(not (SHARED / "consensus").is_dir(), reason="../shared (the seed claims) is not present")
def test_seed_verdicts_are_precise(resources):
    """Being wrong about a problem is worse than missing one: of the seed quotes flagged as a problem, at least
    90% are problems in the knowledge base's judgement."""
    results = ev.judge_seeds(load_settings(), resources)
    m = ev.metrics_of(results)
    assert m["n"] == 87 and not m["quotes_not_found"]
    assert m["problem_precision"] >= 0.90, ev.render(m)
    assert m["agreement"] >= 0.45, ev.render(m)  # floor; the target (0.80) needs more of the extractor


def test_accurate_sample_sites_get_no_problem_verdicts(resources):
    """The accurate evidence site and the sober clinic report the evidence and what others claim; none of it
    is the page's own problem claim."""
    counts = ev.site_counts(load_settings(), resources, ["uplands-pain-research", "harbor-anesthesia"])
    assert set(counts) == {"uplands-pain-research", "harbor-anesthesia"}
    assert {name: c["problem_verdicts"] for name, c in counts.items()} == \
        {"uplands-pain-research": 0, "harbor-anesthesia": 0}
    assert counts["uplands-pain-research"]["mean_credibility"] >= 70


def test_aggressive_clinic_still_gets_its_problem_verdicts(resources):
    counts = ev.site_counts(load_settings(), resources, ["summit-ketamine"])["summit-ketamine"]
    assert counts["problem_verdicts"] >= 30
    assert counts["by_label"].get("contradicted", 0) >= 10
    assert counts["mean_credibility"] <= 30
