"""Metric code on small hand-made cases with known answers."""

from __future__ import annotations

import json
import math

import pytest

from mtqa.evaluate import (
    brier,
    is_garbled,
    pairwise_accuracy,
    rank_average,
    reliability_table,
    roc_auc,
    span_hit_rate,
)


def test_auc_known_values():
    assert roc_auc([0, 0, 1, 1], [0.1, 0.2, 0.3, 0.4]) == 1.0
    assert roc_auc([0, 0, 1, 1], [0.4, 0.3, 0.2, 0.1]) == 0.0
    # of the four (garbled, clean) pairs three are ordered right and one is tied: (3 + 0.5) / 4
    assert roc_auc([0, 0, 1, 1], [0.1, 0.5, 0.5, 0.9]) == pytest.approx(0.875)


def test_pairwise_accuracy_with_ties():
    # one group of three: human ranks a<b, a<c, b==c
    groups = ["g", "g", "g"]
    human = [0.0, 5.0, 5.0]
    assert pairwise_accuracy(groups, human, [0.1, 0.9, 0.9]) == 1.0  # tie predicted as tie
    assert pairwise_accuracy(groups, human, [0.1, 0.8, 0.9]) == pytest.approx(2 / 3)  # tie missed
    assert pairwise_accuracy(groups, human, [0.9, 0.1, 0.1]) == pytest.approx(1 / 3)
    # pairs never cross groups
    assert pairwise_accuracy(["a", "b"], [0.0, 1.0], [1.0, 0.0]) != pairwise_accuracy(
        ["a", "a"], [0.0, 1.0], [1.0, 0.0]
    )
    assert math.isnan(pairwise_accuracy(["a", "b"], [0.0, 1.0], [1.0, 0.0]))


def test_span_hit_rate():
    located = [(0, 5), (10, 12), None, (3, 4)]
    gold = [[(4, 8)], [(12, 20)], [(0, 1)], []]  # overlap, touching only (no overlap), nothing located, no gold
    assert span_hit_rate(located, gold) == pytest.approx(1 / 3)


def test_brier_and_reliability():
    assert brier([1, 0], [1.0, 0.0]) == 0.0
    assert brier([1, 0], [0.5, 0.5]) == 0.25
    rows = reliability_table([1, 0, 1, 0], [0.95, 0.05, 0.15, 0.12], bins=10)
    assert [r["n"] for r in rows] == [1, 2, 1]
    assert rows[1]["observed"] == 0.5


def test_garbled_ground_truth_follows_readme():
    base = {
        "n_raters_major_fluency": 0,
        "major_fluency_only_US_spelling": False,
        "n_raters_major_style": 0,
        "n_raters_non_translation": 0,
    }
    assert not is_garbled(base)
    assert is_garbled({**base, "n_raters_major_fluency": 1})
    assert not is_garbled({**base, "n_raters_major_fluency": 1, "major_fluency_only_US_spelling": True})
    assert is_garbled({**base, "n_raters_major_style": 2})
    assert is_garbled({**base, "n_raters_non_translation": 1})


def test_tie_calibration_finds_the_threshold_that_predicts_human_ties():
    from mtqa.evaluate import pairwise_accuracy_tie_calibrated

    groups = ["g"] * 3
    human = [0.0, 5.0, 5.0]
    ours = [0.1, 0.80, 0.81]  # b and c differ by 0.01: a tie if the threshold is >= 0.01
    assert pairwise_accuracy(groups, human, ours) == pytest.approx(2 / 3)
    acc, eps = pairwise_accuracy_tie_calibrated(groups, human, ours)
    assert acc == 1.0 and 0.01 <= eps + 1e-12 < 0.7


def _mqm_record(doc, seg, system, target, mqm, garbled, reference=None):
    return {
        "id": f"{doc}|{seg}|{system}",
        "doc_id": doc,
        "seg_id": seg,
        "system": system,
        "target": target,
        "reference": reference,
        "mqm_score": mqm,
        "n_raters_major_fluency": int(garbled),
        "major_fluency_only_US_spelling": False,
        "n_raters_major_style": 0,
        "n_raters_non_translation": 0,
        "errors": [{"side": "target", "severity": "Major", "category": "Fluency/Grammar", "start": 0, "end": 5}]
        if garbled
        else [],
    }


def test_eval_mqm_end_to_end_on_a_tiny_benchmark(tmp_path, pipeline):
    import json

    from mtqa.evaluate import eval_markdown, run_eval

    recs = [
        _mqm_record("d1", 1, "A", "The talks ended on Monday in Geneva.", 0.0, False),
        _mqm_record("d1", 1, "B", "Talks Monday ended the on in Geneva the.", 10.0, True),
        _mqm_record("d1", 2, "A", "Both sides agreed to meet again in March.", 0.1, False),
        _mqm_record("d1", 2, "B", "Both sides agreed meet again March development The people.", 6.0, True),
    ]
    folder = tmp_path / "mqm_zhen_wmt23"
    folder.mkdir()
    (folder / "dev.jsonl").write_text("\n".join(json.dumps(r) for r in recs) + "\n", encoding="utf-8")
    result = run_eval(pipeline, "mqm-zhen", "dev", tmp_path)
    assert result["n"] == 4 and result["n_garbled"] == 2
    row = result["table"]["mtqa (calibrated)"]
    assert set(row) == {"roc_auc", "average_precision", "pairwise_accuracy", "pairwise_acc_t", "kendall_tau", "pearson"}
    assert 0.0 <= row["roc_auc"] <= 1.0 and 0.0 <= result["brier"] <= 1.0
    assert result["table"]["mean log-prob (negated)"]["roc_auc"] == 1.0  # word salad is obviously worse
    assert "| mtqa (calibrated) |" in eval_markdown(result)
    assert "reference chrF (negated)" not in result["table"] and result["combination"] is None  # no references


def test_eval_mqm_reference_columns_on_a_tiny_benchmark(tmp_path, pipeline):
    import json

    from mtqa.evaluate import eval_markdown, run_eval

    ref1, ref2 = "The talks ended in Geneva on Monday.", "The two sides agreed to meet again in March."
    recs = [
        _mqm_record("d1", 1, "A", "The talks ended on Monday in Geneva.", 0.0, False, ref1),
        _mqm_record("d1", 1, "B", "Talks Monday ended the on in Geneva the.", 10.0, True, ref1),
        _mqm_record("d1", 2, "A", "Both sides agreed to meet again in March.", 0.1, False, ref2),
        _mqm_record("d1", 2, "B", "Both sides agreed meet again March development The people.", 6.0, True, ref2),
        _mqm_record(
            "d1",
            3,
            "A",
            "Officials said the port reopened on Tuesday.",
            0.0,
            False,
            "Officials said the port reopened on Tuesday.",
        ),
        _mqm_record(
            "d1",
            3,
            "B",
            "Officials said the port reopened on Tuesday.",
            0.0,
            False,
            "Officials said the port reopened on Tuesday.",
        ),
    ]
    folder = tmp_path / "mqm_zhen_wmt23"
    folder.mkdir()
    (folder / "dev.jsonl").write_text("\n".join(json.dumps(r) for r in recs) + "\n", encoding="utf-8")
    result = run_eval(pipeline, "mqm-zhen", "dev", tmp_path)
    table = result["table"]
    # within each source segment the translation closer to the reference is the one raters found better
    assert table["reference chrF (negated)"]["pairwise_accuracy"] == 1.0
    assert {"mtqa + reference chrF (rank average)", "mtqa + reference chrF (logistic, fitted on dev)"} <= set(table)
    combination = result["combination"]
    assert combination["fitted_on"] == "dev" and len(combination["coef"]) == 2
    assert combination["chrf_signature"].startswith("nrefs:1|case:mixed|eff:yes|nc:6|nw:0")
    assert "Logistic combination (fitted on dev)" in eval_markdown(result)


def test_rank_average_combines_without_fitting():
    assert rank_average([0.1, 0.5, 0.9], [3.0, 1.0, 2.0]) == pytest.approx([0.5, 0.25, 0.75])
    # ties share their mean rank
    assert rank_average([1.0, 1.0, 2.0], [1.0, 2.0, 3.0]) == pytest.approx([0.125, 0.375, 1.0])
    # a monotone transform of a score changes nothing
    assert rank_average([0.2, 0.1, 0.3], [5.0, 4.0, 6.0]) == rank_average([20.0, 10.0, 30.0], [5.0, 4.0, 6.0])


def test_each_shipped_model_gets_its_own_calibration():
    """Gemma's features have another scale than SmolLM2's: `--model gemma3-270m` must not be calibrated with
    SmolLM2's coefficients. Each shipped calibration records the LM it was fitted with."""
    from mtqa.calibrate import load_calibration
    from mtqa.lm.models import shipped_calibration

    assert shipped_calibration(None) == shipped_calibration("smollm2") == "calibration.json"
    assert shipped_calibration("some-local-model") == "calibration.json"  # no fit of its own: the default
    assert shipped_calibration("gemma3-270m") == "calibration-gemma3-270m.json"
    default, gemma = load_calibration(), load_calibration(model="gemma3-270m")
    assert default.meta["lm"].startswith("lm:smollm2@") and gemma.meta["lm"].startswith("lm:gemma3-270m@")
    assert gemma.version != default.version and gemma.meta["fitted_on"] == default.meta["fitted_on"]


def test_each_reading_gets_its_own_calibration():
    """Passages shift the LM features (docs/language-model.md): `context = "passage"` is calibrated with a fit on
    passage features, and a model without one is refused with the command that fits it, never silently
    calibrated with another reading's coefficients."""
    from mtqa.calibrate import load_calibration
    from mtqa.lm.models import shipped_calibration
    from mtqa.pipeline import Pipeline
    from mtqa.settings import Settings

    assert shipped_calibration(None, "passage") == "calibration-passage.json"
    passage, previous = load_calibration(context="passage"), load_calibration()
    assert "|context:passage/" in passage.meta["lm"] and "|context:32" in previous.meta["lm"]
    assert Pipeline(Settings(model="fake", context="passage", cache=False)).calibration.version == passage.version
    with pytest.raises(ValueError, match="scripts/calibrate.py --model gemma3-270m --context passage"):
        load_calibration(model="gemma3-270m", context="passage")


def _tiny_realworld(tmp_path):
    """Two hand-made cases: a translated page with chrome, a headline and a glued sentence; a native control."""
    root = tmp_path / "realworld_dev"
    (root / "cases").mkdir(parents=True)
    mt = "Home | News\nFloods hit the north\nRain fell all week.The rivers rose.\nShare this\n"
    native = "Rates held\nThe bank kept rates on hold. Markets were calm.\n"
    (root / "cases" / "zh-site-floods.txt").write_text(mt, encoding="utf-8")
    (root / "cases" / "native-site-rates.txt").write_text(native, encoding="utf-8")

    def label(case, text, body, start, garbled=False, unsure=False, part="body", kinds=()):
        return {
            "case": case,
            "start": start,
            "end": start + len(text),
            "text": text,
            "garbled": garbled,
            "kinds": list(kinds),
            "unsure": unsure,
            "part": part,
        }

    labels = [
        label("zh-site-floods", "Floods hit the north", mt, mt.index("Floods"), part="headline"),
        label("zh-site-floods", "Rain fell all week.", mt, mt.index("Rain"), garbled=True, kinds=["glued"]),
        label("zh-site-floods", "The rivers rose.", mt, mt.index("The rivers")),
        label("native-site-rates", "Rates held", native, 0, part="headline"),
        label("native-site-rates", "The bank kept rates on hold.", native, native.index("The bank")),
        label("native-site-rates", "Markets were calm.", native, native.index("Markets")),
    ]
    (root / "labels.jsonl").write_text("".join(json.dumps(x) + "\n" for x in labels), encoding="utf-8")
    chrome = [
        {"case": "zh-site-floods", "line": 1, "text": "Home | News", "kind": "menu"},
        {"case": "zh-site-floods", "line": 4, "text": "Share this", "kind": "share"},
    ]
    (root / "chrome.jsonl").write_text("".join(json.dumps(x) + "\n" for x in chrome), encoding="utf-8")
    return root, mt, native


def _record(text, segments, verdict):
    return {
        "status": "ok",
        "text": text,
        "verdict": verdict,
        "score": 0.5,
        "segments": [
            {
                "kind": k,
                "start": text.index(t),
                "end": text.index(t) + len(t),
                "score": sc,
                "flagged": fl,
                "findings": [{"code": c} for c in codes],
            }
            for k, t, sc, fl, codes in segments
        ],
    }


def test_realworld_figures_count_as_the_benchmark_checker_does(tmp_path):
    from mtqa.realworld import figures, load

    root, mt, native = _tiny_realworld(tmp_path)
    records = {
        "zh-site-floods": _record(
            mt,
            [
                ("boilerplate", "Home | News", None, False, []),
                ("title", "Floods hit the north", 0.2, False, []),
                ("body", "Rain fell all week.", 0.3, True, ["glued-words"]),
                ("body", "The rivers rose.", 0.6, True, []),
                ("body", "Share this", 0.1, False, []),
            ],
            "review",
        ),
        "native-site-rates": _record(
            native,
            [
                ("title", "Rates held", None, False, []),
                ("body", "The bank kept rates on hold.", 0.1, False, []),
                ("body", "Markets were calm.", 0.05, False, []),
            ],
            "pass",
        ),
    }
    got = figures(load(tmp_path), records)  # the benchmarks folder or realworld_dev itself
    s = got["sentences"]
    assert (s["flagged"], s["hits"], s["false_alarms"], s["garbled_sure"], s["garbled_sure_found"]) == (2, 1, 1, 1, 1)
    assert (s["precision"], s["recall"], s["f1"]) == (0.5, 1.0, 0.6667)
    assert s["hits_by"] == {"glued-words": 1} and s["false_alarms_by"] == {"lm-score": 1}
    # the garbled label's best score 0.3 outranks three clean labels (0.2, 0.1, 0.05), not the rivers' 0.6;
    # the native headline has no scored segment and is left out
    assert s["score_auc"] == 0.75
    assert got["articles"] == {"garbled": 1, "garbled_flagged": 1, "garbled_fail": 0, "native": 1, "native_pass": 1}
    c = got["chrome"]
    assert (c["tp"], c["fp"], c["fn"], c["precision"], c["recall"]) == (1, 0, 1, 1.0, 0.5)
    assert c["recall_by_kind"] == {"menu": [1, 1], "share": [0, 1]}
    assert got["titles"] == {"cases": 2, "correct": 2, "accuracy": 1.0}
    assert s["false_alarms_on_chrome"] == 0
    records["zh-site-floods"]["segments"][-1]["flagged"] = True  # "Share this", read as body, then flagged
    assert figures(load(root), records)["sentences"]["false_alarms_on_chrome"] == 1
    missing = figures(load(root), {"zh-site-floods": records["zh-site-floods"]})
    assert missing["missing"] == ["native-site-rates"]
