"""Engine pieces: deterministic length-grouped batches, dynamic padding, checkpoint markers, the
learning-rate schedule, SDPA attention, early stopping with the best model kept, torch.compile on
CPU, the fields of step events and the ONNX export hand-off."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import torch
from conftest import make_spec, read_events, read_status, write_run
from safetensors.torch import load_file
from test_fault_tolerance import make_tiny_model, run_spec, train_in_process, write_sst2_subset

from bert_studio_trainer.data.collate import pad_batch
from bert_studio_trainer.engine.checkpoint import COMPLETE, latest_checkpoint
from bert_studio_trainer.engine.optim import build_optimizer, build_scheduler
from bert_studio_trainer.engine.sampler import epoch_batches, num_batches
from bert_studio_trainer.spec import parse_spec
from bert_studio_trainer.tasks import build_task
from bert_studio_trainer.train import train

STEP_FIELDS = {"step", "max_steps", "epoch", "loss", "learning_rate", "grad_norm", "samples_per_second",
               "tokens_per_second", "memory_mb"}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory, data: Path) -> tuple[Path, Path, Path]:
    """A 2-layer random BERT (seconds per run) and SST-2 snapshot subsets: (model, train, validation)."""
    root = tmp_path_factory.mktemp("engine")
    return make_tiny_model(root / "tiny-bert"), *write_sst2_subset(data, root / "data", n_train=160, n_eval=32)


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


def test_cpu_batches_are_padded_to_their_longest_feature_only(tmp_path: Path, tiny: tuple[Path, Path, Path],
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """On a CPU the worker pads each training and evaluation batch to its longest feature, without
    rounding up to a multiple of 8 (which only adds tokens there)."""
    from bert_studio_trainer.tasks.classification import ClassificationTask

    seen: list[tuple[int, int]] = []
    collate = ClassificationTask.collate

    def recording(self: ClassificationTask, features: list[dict], pad_to_multiple_of: int = 8) -> dict:
        batch = collate(self, features, pad_to_multiple_of)
        seen.append((max(len(f["input_ids"]) for f in features), batch["input_ids"].shape[1]))
        return batch

    monkeypatch.setattr(ClassificationTask, "collate", recording)
    run = write_run(tmp_path / "run", run_spec(tiny[0], tiny[1], tiny[2], max_steps=4, eval_steps=4))
    assert train_in_process(run) == 0, read_events(run, "error")
    assert len(seen) >= 5 and any(longest % 8 for longest, _ in seen)
    assert all(width == longest for longest, width in seen), seen


def test_linear_warmup_then_linear_decay() -> None:
    model = torch.nn.Linear(4, 2)
    opt = build_optimizer(model, 1.0, 0.01, torch.device("cpu"))
    sched = build_scheduler(opt, warmup_ratio=0.25, total_steps=8)  # 2 warmup steps, 6 of decay
    lrs = []
    for _ in range(8):
        lrs.append(sched.get_last_lr()[0])
        opt.step()
        sched.step()
    assert lrs == pytest.approx([0.0, 0.5, 1.0, 5 / 6, 4 / 6, 3 / 6, 2 / 6, 1 / 6])
    assert opt.defaults["fused"] is True  # fused AdamW kernels (CUDA and CPU)
    # Weight decay on matrices only, not on biases (BERT's recipe).
    assert [g["weight_decay"] for g in opt.param_groups] == [0.01, 0.0]
    assert [len(g["params"]) for g in opt.param_groups] == [1, 1]


def test_device_and_autocast_choice() -> None:
    from bert_studio_trainer.engine.runtime import resolve_autocast, resolve_device

    auto = resolve_device("auto")
    assert auto.type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert resolve_device("cpu").type == "cpu"
    # bf16 autocast: on CUDA when "auto" (and supported); on CPU when asked for explicitly, or
    # "auto" on a CPU with bf16 instructions (test_bf16_cpu.py).
    assert resolve_autocast("auto", torch.device("cpu"), cpu_bf16=None) is None
    assert resolve_autocast(True, torch.device("cpu")) is torch.bfloat16
    assert resolve_autocast(False, auto) is None
    if torch.cuda.is_available():
        assert resolve_autocast("auto", auto) is (torch.bfloat16 if torch.cuda.is_bf16_supported() else None)
    else:
        with pytest.raises(RuntimeError, match="no CUDA GPU"):
            resolve_device("cuda")


def test_models_use_sdpa_attention(tiny: tuple[Path, Path, Path]) -> None:
    for task in ("sequence_classification", "token_classification", "question_answering"):
        # The tiny model has 128 positions: QA's default 384-token windows do not fit it.
        fits = {"max_seq_length": 128, **({"doc_stride": 32} if task == "question_answering" else {})}
        spec = parse_spec(make_spec(task, tiny[1], **fits) | {"model": {"name_or_path": str(tiny[0])}})
        t = build_task(spec)
        t.labels = ["a", "b"]  # type: ignore[attr-defined]
        model = t.build_model(spec.model)
        assert model.config._attn_implementation == "sdpa", task


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
    # learning_rate 1e-30 (0 is refused): the metric never improves after the first evaluation, so patience 1
    # stops at step 2.
    spec = make_spec("sequence_classification", data / "sst2" / "train.tsv", data / "sst2" / "dev.tsv",
                     max_steps=20, per_device_train_batch_size=8, max_seq_length=32, learning_rate=1e-30,
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


@pytest.mark.slow
def test_early_stopping_keeps_the_best_weights(tmp_path: Path, tiny: tuple[Path, Path, Path]) -> None:
    """Evaluate and checkpoint every step; after early stopping, model/ holds the best step's weights."""
    spec = run_spec(tiny[0], tiny[1], tiny[2], max_steps=40, eval_steps=1, save_steps=1, save_total_limit=100,
                    early_stopping_patience=3, metric_for_best_model="loss", learning_rate=2e-3)
    run = write_run(tmp_path / "run", spec)
    assert train_in_process(run) == 0
    status = read_status(run)
    best, last = status["best_metric"]["step"], status["step"]
    # Eval loss falls, then rises as 160 examples are overfitted: stopped 3 evaluations after the best.
    assert 1 < best and last == best + 3 and last < 40, status
    losses = {e["step"]: e["metrics"]["loss"] for e in read_events(run, "eval")}
    assert sorted(losses) == list(range(1, last + 1))
    assert losses[best] == min(losses.values()) and all(losses[s] >= losses[best] for s in range(best + 1, last + 1))
    assert any("early stopping" in e["message"] for e in read_events(run, "log"))
    kept = load_file(str(run / "model" / "model.safetensors"))
    at_best = load_file(str(run / "checkpoints" / f"step-{best}" / "model.safetensors"))
    at_last = load_file(str(run / "checkpoints" / f"step-{last}" / "model.safetensors"))
    assert kept.keys() == at_best.keys()
    for k in kept:
        torch.testing.assert_close(kept[k], at_best[k], msg=k)
    assert any(not torch.equal(kept[k], at_last[k]) for k in kept)


@pytest.mark.slow
def test_torch_compile_trains_on_cpu(tmp_path: Path, tiny: tuple[Path, Path, Path]) -> None:
    """torch_compile: true runs through inductor on CPU, with the eager run's events and outputs.

    max_seq_length 8 pads every batch to 8 tokens: one shape, one compilation (each new shape costs
    minutes on two shared cores). Dropout draws differ between inductor and eager, so the losses
    agree loosely, not bit for bit.
    """
    losses = {}
    for compiled in (False, True):
        spec = run_spec(tiny[0], tiny[1], None, max_steps=2, max_seq_length=8, save_steps=100, torch_compile=compiled)
        run = write_run(tmp_path / f"compile-{compiled}", spec)
        assert train_in_process(run) == 0, read_events(run, "error")
        steps = read_events(run, "step")
        assert [s["step"] for s in steps] == [1, 2]
        for s in steps:
            assert STEP_FIELDS <= s.keys(), s
            assert all(isinstance(s[k], (int, float)) for k in STEP_FIELDS), s
            assert s["samples_per_second"] > 0 and s["tokens_per_second"] > 0 and s["memory_mb"] > 0 and s["grad_norm"] > 0
        assert (run / "model" / "model.safetensors").is_file() and read_status(run)["state"] == "completed"
        losses[compiled] = torch.tensor([s["loss"] for s in steps])
    torch.testing.assert_close(losses[True], losses[False], rtol=2e-2, atol=1e-3)
