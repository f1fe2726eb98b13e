"""Training dynamics per example (analysis/dynamics.py): what the training pass records is what the model
says about the right example and label, the summary figures follow from it, and a resumed run records
exactly what a straight one does."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import make_spec, read_events, train_straight_and_resumed, write_run

from bert_studio_trainer.analysis.dynamics import DYNAMICS_JSONL, DYNAMICS_NPZ, load_dynamics, unit_figures
from bert_studio_trainer.analysis.label_errors import predict_units


def _still_model(tmp_path: Path) -> Path:
    """The default model without dropout: with a learning rate near 0 the training pass then computes
    what an inference pass does, so the recorded values can be checked against one."""
    from bert_studio_trainer.models import default_model_path

    src, dst = Path(default_model_path()), tmp_path / "still-model"
    dst.mkdir()
    for f in src.iterdir():
        if f.is_file() and f.name != "config.json":
            (dst / f.name).symlink_to(f)
    config = json.loads((src / "config.json").read_text())
    config.update(hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, classifier_dropout=0.0)
    (dst / "config.json").write_text(json.dumps(config))
    return dst


def _sst2_subset(data: Path, tmp_path: Path, n: int) -> Path:
    lines = (data / "sst2" / "train.tsv").read_text(encoding="utf-8").splitlines()[: n + 1]
    path = tmp_path / "train.tsv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _conll_subset(data: Path, tmp_path: Path, sentences: int) -> Path:
    out, count = [], 0
    for line in (data / "conll2003" / "train.txt").read_text(encoding="utf-8").splitlines():
        out.append(line)
        if not line.strip() and len(out) > 1 and out[-2].strip() and not out[-2].startswith("-DOCSTART-"):
            count += 1
            if count >= sentences:
                break
    path = tmp_path / "train.conll"
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("task", ["sequence_classification", "token_classification"])
def test_recorded_probabilities_are_the_models_for_each_example(data: Path, tmp_path: Path, task: str) -> None:
    train = _sst2_subset(data, tmp_path, 40) if task == "sequence_classification" else _conll_subset(data, tmp_path, 24)
    spec = make_spec(task, train, num_train_epochs=2, per_device_train_batch_size=8, learning_rate=1e-12,
                     warmup_ratio=0.0, save_steps=1000, max_seq_length=64)
    spec["model"]["name_or_path"] = str(_still_model(tmp_path))
    run = write_run(tmp_path / "run", spec)
    from bert_studio_trainer.train import train as run_train

    assert run_train(run) == 0
    dyn = load_dynamics(run)
    assert dyn["probs"].shape[0] == 2 and not np.isnan(dyn["probs"]).any()
    from bert_studio_trainer.spec import load_spec
    from bert_studio_trainer.tasks import build_task

    parsed = load_spec(run / "spec.json")
    task_obj = build_task(parsed)
    examples = task_obj.load_examples(parsed.data.train, "train")
    labels = [str(x) for x in dyn["labels"]]
    probs, units = predict_units(run / "model", parsed, examples, labels)
    np.testing.assert_array_equal(units["gold"], dyn["gold"])
    np.testing.assert_array_equal(units["example"], dyn["example"])
    for epoch in range(2):  # batches padded differently (8 vs 64 rows): equal within 1e-3
        np.testing.assert_allclose(dyn["probs"][epoch], probs, atol=1e-3)
    # The gold index is each example's own label (or word tag), in data order.
    if task == "sequence_classification":
        assert [labels[g] for g in dyn["gold"]] == [e["label"] for e in examples]
    else:
        assert [labels[g] for g in dyn["gold"]] == [e["tags"][w] for e, w in
                                                      ((examples[i], w) for i, w in zip(dyn["example"], dyn["word"], strict=True))]
    rows = [json.loads(x) for x in (run / DYNAMICS_JSONL).read_text().splitlines()]
    assert len(rows) == len(examples) and rows[0]["source"]["line"] >= 1
    fig = unit_figures(dyn["probs"], dyn["gold"])
    first = np.nonzero(dyn["example"] == 0)[0]
    assert rows[0]["confidence"] == pytest.approx(float(fig["confidence"][first].mean()), abs=1e-5)
    assert rows[0]["epochs"] == 2


def test_summary_figures_follow_the_definitions() -> None:
    # Two units, three epochs, two classes; unit 1 is not seen in the last (partial) epoch.
    p = np.array([[[0.2, 0.8], [0.6, 0.4]], [[0.4, 0.6], [0.3, 0.7]], [[0.9, 0.1], [np.nan, np.nan]]], dtype=np.float32)
    fig = unit_figures(p, np.array([1, 0]))
    np.testing.assert_allclose(fig["confidence"], [0.5, 0.45], atol=1e-6)
    np.testing.assert_allclose(fig["variability"], [np.std([0.8, 0.6, 0.1]), np.std([0.6, 0.3])], atol=1e-6)
    np.testing.assert_allclose(fig["correctness"], [2 / 3, 0.5], atol=1e-6)
    assert fig["seen"].tolist() == [3, 2]


def test_resumed_run_records_the_same_dynamics(data: Path, tmp_path: Path) -> None:
    train = _sst2_subset(data, tmp_path, 48)
    # 2 epochs of 3 steps; the stop after step 4 falls inside the second epoch.
    spec = make_spec("sequence_classification", train, num_train_epochs=2, per_device_train_batch_size=16,
                     save_steps=1000, max_seq_length=64)
    straight, split = train_straight_and_resumed(tmp_path, spec, stop_after=4)
    assert any(e["message"].startswith("resumed from") for e in read_events(split, "log"))
    a, b = load_dynamics(straight), load_dynamics(split)
    assert a["probs"].shape == b["probs"].shape == (2, 48, 2)
    np.testing.assert_array_equal(a["probs"], b["probs"])
    assert (straight / DYNAMICS_JSONL).read_text() == (split / DYNAMICS_JSONL).read_text()


def test_record_dynamics_false_writes_nothing(data: Path, tmp_path: Path) -> None:
    spec = make_spec("sequence_classification", _sst2_subset(data, tmp_path, 16), max_steps=1, save_steps=1000,
                     record_dynamics=False, max_seq_length=32)
    run = write_run(tmp_path / "run", spec)
    from bert_studio_trainer.train import train as run_train

    assert run_train(run) == 0
    assert not (run / DYNAMICS_NPZ).exists() and not (run / DYNAMICS_JSONL).exists()
    ckpt = next((run / "checkpoints").glob("step-*"))
    assert not (ckpt / DYNAMICS_NPZ).exists()
    shutil.rmtree(run)
