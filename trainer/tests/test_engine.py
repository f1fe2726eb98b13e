"""Engine pieces: deterministic length-grouped batches, dynamic padding, checkpoint markers, early
stopping with the best model kept, and the ONNX export hand-off."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from conftest import make_spec, read_events, read_status, write_run

from bert_studio_trainer.data.collate import pad_batch
from bert_studio_trainer.engine.checkpoint import COMPLETE, latest_checkpoint
from bert_studio_trainer.engine.sampler import epoch_batches, num_batches
from bert_studio_trainer.train import train


def test_batches_are_a_function_of_seed_and_epoch() -> None:
    rng = random.Random(0)
    lengths = [rng.randint(3, 120) for _ in range(1000)]
    a = epoch_batches(lengths, 16, seed=1, epoch=0)
    assert a == epoch_batches(lengths, 16, seed=1, epoch=0)
    assert a != epoch_batches(lengths, 16, seed=1, epoch=1)
    assert sorted(i for b in a for i in b) == list(range(1000))
    assert len(a) == num_batches(1000, 16)
    # Length grouping: much less padding than random batches.
    def waste(batches: list[list[int]]) -> int:
        return sum(max(lengths[i] for i in b) * len(b) - sum(lengths[i] for i in b) for b in batches)
    assert waste(a) < 0.2 * waste(epoch_batches(lengths, 16, seed=1, epoch=0, group_by_length=False))


def test_ranks_split_every_global_batch() -> None:
    lengths = list(range(1, 102))
    r0 = epoch_batches(lengths, 4, 3, 0, world_size=2, rank=0)
    r1 = epoch_batches(lengths, 4, 3, 0, world_size=2, rank=1)
    assert len(r0) == len(r1) == num_batches(101, 4, 2)
    assert not {i for b in r0 for i in b} & {i for b in r1 for i in b}


def test_dynamic_padding_to_multiple_of_8() -> None:
    feats = [{"input_ids": [5] * 3, "labels": 1}, {"input_ids": [5] * 10, "labels": 0}]
    batch = pad_batch(feats, {"input_ids": 0, "labels": 0})
    assert batch["input_ids"].shape == (2, 16)
    assert batch["attention_mask"].sum(1).tolist() == [3, 10]
    assert batch["labels"].tolist() == [1, 0]


def test_incomplete_checkpoints_are_ignored(tmp_path: Path) -> None:
    for step, complete in ((2, True), (4, True), (6, False)):
        d = tmp_path / "checkpoints" / f"step-{step}"
        d.mkdir(parents=True)
        if complete:
            (d / COMPLETE).write_text(str(step))
    latest = latest_checkpoint(tmp_path)
    assert latest is not None and latest.name == "step-4"


@pytest.mark.slow
def test_early_stopping_keeps_best_and_exports(tmp_path: Path, data: Path) -> None:
    # learning_rate 0: the metric never improves after the first evaluation, so patience 1 stops at step 2.
    spec = make_spec("sequence_classification", data / "sst2" / "train.tsv", data / "sst2" / "dev.tsv",
                     max_steps=20, per_device_train_batch_size=8, max_seq_length=32, learning_rate=0.0,
                     eval_steps=1, save_steps=100, logging_steps=1, early_stopping_patience=1)
    spec["data"].update(max_train_samples=64, max_eval_samples=32)
    spec["export"] = {"onnx": True, "quantize": False}
    assert train(write_run(tmp_path, spec)) == 0
    assert [e["step"] for e in read_events(tmp_path, "eval")] == [1, 2]
    status = read_status(tmp_path)
    assert status["state"] == "completed" and status["step"] == 2
    assert status["best_metric"]["step"] == 1
    assert (tmp_path / "model" / "config.json").is_file()
    try:
        import bert_studio_trainer.export  # noqa: F401
    except ImportError:
        assert any("ONNX export skipped" in e["message"] for e in read_events(tmp_path, "log"))
        return
    (export,) = read_events(tmp_path, "export")
    assert export["path"] == "onnx/model.onnx" and (tmp_path / "onnx" / "model.onnx").is_file()
    assert export["max_abs_diff"] < 1e-3
