"""Likely label errors (analysis/label_errors.py): confident learning finds obvious flips, agrees with
cleanlab's own scores, writes rows whose source line holds the given label, and bad input gets one line
that names the problem and the fix."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, make_spec, write_run

from bert_studio_trainer.analysis.label_errors import (
    LABEL_ISSUES,
    find_label_errors,
    pred_probs_from_dynamics,
    rank_label_issues,
    token_line,
)


def _worker(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bert_studio_trainer", *args], capture_output=True, text=True,
                          cwd=REPO, env={"PYTHONPATH": str(REPO / "trainer"), "BERT_STUDIO_NUM_THREADS": "1",
                                         "PATH": "/usr/bin:/bin"}, timeout=600)


def test_obvious_flips_are_flagged_and_scores_agree_with_cleanlab() -> None:
    from cleanlab.filter import find_label_issues
    from cleanlab.rank import get_label_quality_scores

    rng = np.random.default_rng(0)
    n, classes = 300, 3
    truth = rng.integers(0, classes, n)
    # A model that is right with 0.7-0.95 of its mass; 15 labels flipped to another class.
    probs = np.full((n, classes), 0.0)
    conf = rng.uniform(0.7, 0.95, n)
    probs[np.arange(n), truth] = conf
    for i in range(n):
        others = [c for c in range(classes) if c != truth[i]]
        probs[i, others] = (1 - conf[i]) / len(others)
    given = truth.copy()
    flipped = rng.choice(n, 15, replace=False)
    given[flipped] = (truth[flipped] + 1) % classes
    scores, flagged = rank_label_issues(probs, given)
    assert set(np.nonzero(flagged)[0]) == set(flipped.tolist())
    assert set(np.argsort(-scores)[:15]) == set(flipped.tolist())
    np.testing.assert_allclose(scores, 1 - get_label_quality_scores(given, probs, method="self_confidence"))
    np.testing.assert_array_equal(flagged, find_label_issues(given, probs))
    # A class missing among the given labels (here class 2 never given) still works.
    two = np.where(given == 2, 0, given)
    _, flagged2 = rank_label_issues(probs, two)
    assert flagged2.shape == (n,)


def test_probabilities_from_dynamics() -> None:
    p = np.array([[[0.2, 0.8], [0.6, 0.4]], [[0.4, 0.6], [np.nan, np.nan]]], dtype=np.float32)
    np.testing.assert_allclose(pred_probs_from_dynamics(p, "mean"), [[0.3, 0.7], [0.6, 0.4]], atol=1e-6)
    np.testing.assert_allclose(pred_probs_from_dynamics(p, "first"), [[0.2, 0.8], [0.6, 0.4]], atol=1e-6)


def test_token_lines() -> None:
    assert token_line({"file": "/d/train.txt", "line": 10}, 3) == 13  # CoNLL: one token per line
    assert token_line({"file": "/d/train.jsonl", "line": 10}, 3) == 10  # one record per line
    assert token_line({"file": "/d/train.tsv", "line": 4}, -1) == 4
    assert token_line(None, 0) is None


def _noisy_sst2(data: Path, tmp_path: Path, n: int, flips: int) -> tuple[Path, set[int]]:
    lines = (data / "sst2" / "train.tsv").read_text(encoding="utf-8").splitlines()[: n + 1]
    flipped = set(random.Random(3).sample(range(n), flips))
    out = [lines[0]]
    for i, row in enumerate(lines[1:]):
        text, label = row.rsplit("\t", 1)
        out.append(f"{text}\t{1 - int(label) if i in flipped else label}")
    path = tmp_path / "train.tsv"
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return path, flipped


def test_label_issues_point_at_lines_holding_the_given_label(data: Path, tmp_path: Path) -> None:
    train, _ = _noisy_sst2(data, tmp_path, 96, 8)
    run = write_run(tmp_path / "run", make_spec("sequence_classification", train, num_train_epochs=2,
                                                per_device_train_batch_size=16, save_steps=1000, max_seq_length=64))
    from bert_studio_trainer.train import train as run_train

    assert run_train(run) == 0
    proc = _worker("label-errors", "--model", str(run))
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert summary["units"] == 96 and summary["method"].startswith("training dynamics")
    rows = [json.loads(x) for x in (run / LABEL_ISSUES).read_text().splitlines()]
    assert len(rows) == summary["flagged"] > 0
    assert [r["score"] for r in rows] == sorted((r["score"] for r in rows), reverse=True)
    file_lines = train.read_text(encoding="utf-8").splitlines()
    for r in rows:
        text, label = file_lines[r["source"]["line"] - 1].rsplit("\t", 1)
        assert label == r["given"] and text == r["text"]
        assert r["suggested"] != r["given"]


def test_ner_issues_name_the_token_line(data: Path, tmp_path: Path) -> None:
    lines = (data / "conll2003" / "train.txt").read_text(encoding="utf-8").splitlines()[:400]
    train = tmp_path / "train.txt"
    train.write_text("\n".join(lines) + "\n", encoding="utf-8")
    run = write_run(tmp_path / "run", make_spec("token_classification", train, max_steps=4, save_steps=1000,
                                                per_device_train_batch_size=8, max_seq_length=64))
    from bert_studio_trainer.train import train as run_train

    assert run_train(run) == 0
    summary = find_label_errors(run)
    rows = [json.loads(x) for x in (run / LABEL_ISSUES).read_text().splitlines()]
    assert summary["flagged"] == len(rows) > 0  # a model after 4 steps contradicts many tags
    for r in rows[:50]:
        cells = lines[r["source"]["line"] - 1].split()
        assert cells[0] == r["word"] and cells[-1] == r["given"]


@pytest.mark.parametrize("case", ["not_a_run", "no_dynamics", "data_without_folds", "folds_too_few", "multi_label",
                                  "bad_probs"])
def test_bad_input_gets_one_line_with_the_fix(tmp_path: Path, case: str) -> None:
    train = tmp_path / "train.jsonl"
    train.write_text('{"text": "a", "label": "x"}\n{"text": "b", "label": "y"}\n', encoding="utf-8")
    spec = make_spec("sequence_classification", train)
    if case == "multi_label":
        spec["data"]["multi_label"] = True
    run = write_run(tmp_path / "run", spec)
    args = {
        "not_a_run": ["--model", str(tmp_path)],
        "no_dynamics": ["--model", str(run)],
        "data_without_folds": ["--model", str(run), "--data", str(train)],
        "folds_too_few": ["--model", str(run), "--folds", "1"],
        "multi_label": ["--model", str(run)],
        "bad_probs": ["--model", str(run), "--probs", "last"],
    }[case]
    proc = _worker("label-errors", *args)
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    lines = [x for x in proc.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    assert "Traceback" not in proc.stderr
    expected = {
        "not_a_run": "not a run folder (no spec.json)",
        "no_dynamics": "pass --folds K",
        "data_without_folds": "--data needs --folds K",
        "folds_too_few": "--folds 1: give between 2",
        "multi_label": "not multi-label classification",
        "bad_probs": "--probs last: use one of mean, first",
    }[case]
    assert expected in lines[0]
    assert not (run / LABEL_ISSUES).exists()
