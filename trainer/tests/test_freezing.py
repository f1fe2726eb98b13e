"""Freezing and learning-rate structure (engine/freezing.py) on the tiny checkpoints of every
architecture (test/fixtures/families/build.py) and real data: frozen weights stay bit-identical,
each block's learning rate follows the formula, gradual unfreezing matches its events (and the
weights it leaves alone), a resume mid-schedule is exact, and bad fields are refused by name."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import torch
from conftest import assert_same_weights, read_events, read_status, train_straight_and_resumed, write_run
from test_families import ARCHS, checkpoints, family_spec  # noqa: F401 - checkpoints is a fixture
from transformers import AutoModelForSequenceClassification

from bert_studio_trainer.engine.freezing import model_blocks
from bert_studio_trainer.families import model_facts
from bert_studio_trainer.spec import SpecError, parse_spec
from bert_studio_trainer.train import train


def _blocks_of(folder: Path) -> dict[str, dict[str, torch.Tensor]]:
    """{block: {parameter name: tensor}} of a sequence classifier saved in (or loaded from) `folder`."""
    model = AutoModelForSequenceClassification.from_pretrained(str(folder), num_labels=2)
    names = {id(p): n for n, p in model.named_parameters()}
    blocks = model_blocks(model, "freeze_layers")
    assert blocks is not None
    return {b.name: {names[id(p)]: p.detach().clone() for p in b.params} for b in blocks}


def _identical(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def _spec(data: Path, folder: Path, **training: Any) -> dict[str, Any]:
    """family_spec's SST-2 subset without the ONNX export (test_families covers it)."""
    spec = family_spec(data, folder, "single", **training)
    spec["export"] = {"onnx": False}
    return spec


def _weights_at(run: Path, step: int) -> dict[str, dict[str, torch.Tensor]]:
    return _blocks_of(run / "checkpoints" / f"step-{step}")


@pytest.mark.parametrize("arch", ARCHS)
def test_blocks_cover_every_parameter_once(checkpoints: Path, arch: str) -> None:  # noqa: F811
    folder = checkpoints / arch / "checkpoint"
    model = AutoModelForSequenceClassification.from_pretrained(str(folder), num_labels=2)
    blocks = model_blocks(model, "freeze_layers")
    assert blocks is not None
    assert [b.name for b in blocks] == ["embeddings"] + [f"layer.{i}" for i in range(model_facts(folder).layers)] + ["head"]
    ids = [id(p) for b in blocks for p in b.params]
    assert sorted(ids) == sorted(id(p) for p in model.parameters())  # every parameter, once
    assert all(b.params for b in blocks)
    head = {id(p) for p in blocks[-1].params}
    prefix = model.base_model_prefix + "."
    assert not [n for n, p in model.named_parameters() if id(p) in head and n.startswith(prefix)], "base parameters in the head"


@pytest.mark.parametrize("arch", ARCHS)
def test_frozen_blocks_are_bit_identical_after_training(tmp_path: Path, data: Path, checkpoints: Path, arch: str) -> None:  # noqa: F811
    """Embeddings and the first layer frozen, layer-wise decay on: they leave training bit for bit
    as they came in; the layer above and the head change."""
    folder = checkpoints / arch / "checkpoint"
    before = _blocks_of(folder)
    run = write_run(tmp_path / "run", _spec(data, folder, freeze_embeddings=True, freeze_layers=1,
                                                  layerwise_lr_decay=0.7, weight_decay=0.1))
    assert train(run) == 0, read_events(run, "error")
    after = _blocks_of(run / "model")
    assert _identical(before["embeddings"], after["embeddings"])
    assert _identical(before["layer.0"], after["layer.0"])
    assert not _identical(before["layer.1"], after["layer.1"])
    params = read_events(run, "params")
    assert len(params) == 1 and params[0]["step"] == 0
    frozen = {g["name"] for g in params[0]["groups"] if not g["trainable"]}
    assert frozen == {"embeddings", "layer.0"}
    trainable = sum(t.numel() for name in ("layer.1", "head") for t in after[name].values())
    assert params[0]["trainable"] == trainable


def test_linear_probe_trains_the_head_alone(tmp_path: Path, data: Path, checkpoints: Path) -> None:  # noqa: F811
    folder = checkpoints / "distilbert" / "checkpoint"
    before = _blocks_of(folder)
    run = write_run(tmp_path / "run", _spec(data, folder, freeze_base_model=True))
    assert train(run) == 0, read_events(run, "error")
    after = _blocks_of(run / "model")
    for name in before:
        if name != "head":
            assert _identical(before[name], after[name]), name
    assert read_events(run, "params")[0]["trainable"] == sum(t.numel() for t in after["head"].values())


def _lambda(step: int, warmup: int, total: int) -> float:
    """transformers' linear schedule with warmup, written out: the factor of optimizer step `step` (0-based)."""
    if step < warmup:
        return step / max(1, warmup)
    return max(0.0, (total - step) / max(1, total - warmup))


def test_group_learning_rates_follow_the_formula(tmp_path: Path, data: Path, checkpoints: Path) -> None:  # noqa: F811
    base, decay, total, warmup_ratio = 1e-3, 0.5, 8, 0.25
    folder = checkpoints / "bert-uncased" / "checkpoint"
    run = write_run(tmp_path / "run", _spec(data, folder, max_steps=total, save_steps=3, eval_steps=total,
                                                  save_total_limit=10,
                                                  learning_rate=base, layerwise_lr_decay=decay, warmup_ratio=warmup_ratio,
                                                  weight_decay=0.05))
    assert train(run) == 0, read_events(run, "error")
    warmup = math.ceil(warmup_ratio * total)
    depth = {"head": 0, "layer.1": 1, "layer.0": 2, "embeddings": 3}
    steps = read_events(run, "step")
    assert [e["step"] for e in steps] == list(range(1, total + 1))
    for e in steps:
        lam = _lambda(e["step"] - 1, warmup, total)
        assert e["group_learning_rates"] == pytest.approx({n: base * decay ** d * lam for n, d in depth.items()}, rel=1e-12)
        assert e["learning_rate"] == pytest.approx(base * lam, rel=1e-12)
    # The optimizer itself (its saved groups after steps 3 and 6): the rate of the next step, and
    # weight decay on matrices only.
    for k in (3, 6):
        groups = torch.load(run / "checkpoints" / f"step-{k}" / "optimizer.pt", weights_only=False)["param_groups"]
        assert {g["name"] for g in groups} == {*depth, *(f"{n}/no_decay" for n in depth)}
        for g in groups:
            name = g["name"].removesuffix("/no_decay")
            assert g["lr"] == pytest.approx(base * decay ** depth[name] * _lambda(k, warmup, total), rel=1e-12)
            assert g["weight_decay"] == (0.0 if g["name"].endswith("/no_decay") else 0.05)


def test_unfreezing_schedule_matches_its_events_and_the_weights(tmp_path: Path, data: Path, checkpoints: Path) -> None:  # noqa: F811
    """Every 2 steps one more block opens from the top: events at steps 0, 2, 4, 6, and the checkpoints
    show that a block not yet open has not moved."""
    folder = checkpoints / "roberta" / "checkpoint"
    before = _blocks_of(folder)
    run = write_run(tmp_path / "run", _spec(data, folder, max_steps=8, save_steps=2, save_total_limit=10,
                                                  unfreeze_schedule={"every": 2, "unit": "step"}))
    assert train(run) == 0, read_events(run, "error")
    events = read_events(run, "params")
    trainable = [(e["step"], e.get("unfrozen_layers"), [g["name"] for g in e["groups"] if g["trainable"]]) for e in events]
    assert trainable == [(0, 0, ["head"]), (2, 1, ["head", "layer.1"]), (4, 2, ["head", "layer.1", "layer.0"]),
                         (6, 2, ["head", "layer.1", "layer.0", "embeddings"])]
    assert [e["trainable"] for e in events] == sorted(e["trainable"] for e in events)
    assert events[-1]["trainable"] == events[-1]["total"]
    # The weights: what a checkpoint at step k holds was trained by steps 1..k with the blocks open then.
    for step, still in ((2, ["layer.1", "layer.0", "embeddings"]), (4, ["layer.0", "embeddings"]), (6, ["embeddings"])):
        at = _weights_at(run, step)
        for name in still:
            assert _identical(before[name], at[name]), f"{name} moved before it was unfrozen (step {step})"
        opened = {4: "layer.1", 6: "layer.0"}.get(step)  # (the head's initial weights are not saved)
        if opened:
            assert not _identical(before[opened], at[opened]), f"{opened} did not train by step {step}"
    assert not _identical(before["embeddings"], _weights_at(run, 8)["embeddings"])


def test_unfreezing_by_epoch(tmp_path: Path, data: Path, checkpoints: Path) -> None:  # noqa: F811
    folder = checkpoints / "modernbert" / "checkpoint"
    spec = _spec(data, folder, max_steps=-1, num_train_epochs=3, unfreeze_schedule={"every": 1, "unit": "epoch"},
                       freeze_embeddings=True)
    spec["data"]["max_train_samples"] = 16  # 2 steps of 8 per epoch
    run = write_run(tmp_path / "run", spec)
    assert train(run) == 0, read_events(run, "error")
    events = read_events(run, "params")
    assert [(e["step"], e["unfrozen_layers"]) for e in events] == [(0, 0), (2, 1), (4, 2)]
    assert all(not g["trainable"] for e in events for g in e["groups"] if g["name"] == "embeddings")


def test_resume_mid_schedule_is_exact(tmp_path: Path, data: Path, checkpoints: Path) -> None:  # noqa: F811
    """Stopped at step 3 (between two unfreezing points, with layer-wise decay and frozen embeddings),
    resumed: the same weights as a straight run, and the resumed run reports its state at step 3."""
    folder = checkpoints / "bert-uncased" / "checkpoint"
    spec = _spec(data, folder, max_steps=8, save_steps=100, eval_steps=8, layerwise_lr_decay=0.8,
                       freeze_embeddings=True, unfreeze_schedule={"every": 2, "unit": "step"})
    straight, split = train_straight_and_resumed(tmp_path, spec, stop_after=3)
    assert_same_weights(straight, split)
    resumed = [(e["step"], e["unfrozen_layers"]) for e in read_events(split, "params")]
    assert resumed == [(0, 0), (2, 1), (3, 1), (4, 2)]
    assert [(e["step"], e["unfrozen_layers"]) for e in read_events(straight, "params")] == [(0, 0), (2, 1), (4, 2)]
    assert read_status(split)["state"] == "completed"


def _spec_error(data: Path, folder: Path, **training: Any) -> SpecError:
    with pytest.raises(SpecError) as err:
        parse_spec(_spec(data, folder, **training))
    return err.value


def test_bad_fields_are_refused_by_name(data: Path, checkpoints: Path) -> None:  # noqa: F811
    folder = checkpoints / "distilbert" / "checkpoint"
    e = _spec_error(data, folder, freeze_layers=3)
    assert e.field == "training.freeze_layers" and "has 2 encoder layers" in str(e) and "2 or less" in str(e)
    e = _spec_error(data, folder, freeze_layers=-1)
    assert e.field == "training.freeze_layers" and "at least 0" in str(e)
    for bad in (0, 1.5, "0.9"):
        assert _spec_error(data, folder, layerwise_lr_decay=bad).field == "training.layerwise_lr_decay"
    assert _spec_error(data, folder, unfreeze_schedule={"every": 0}).field == "training.unfreeze_schedule.every"
    e = _spec_error(data, folder, unfreeze_schedule={"every": 1, "unit": "batch"})
    assert e.field == "training.unfreeze_schedule.unit" and '"epoch" or "step"' in str(e)
    assert _spec_error(data, folder, unfreeze_schedule={"every": 1, "units": "step"}).field == "training.unfreeze_schedule.units"
    assert _spec_error(data, folder, unfreeze_schedule="1:epoch").field == "training.unfreeze_schedule"
    e = _spec_error(data, folder, freeze_base_model=True, unfreeze_schedule={"every": 1, "unit": "epoch"})
    assert e.field == "training.unfreeze_schedule"
    assert _spec_error(data, folder, freeze_embeddings="yes").field == "training.freeze_embeddings"


def test_too_many_frozen_layers_are_refused_by_the_engine_too(checkpoints: Path) -> None:  # noqa: F811
    """The engine's own check, on the built model (for a hub id the spec check has no config to read)."""
    from bert_studio_trainer.engine.freezing import Freezing

    model = AutoModelForSequenceClassification.from_pretrained(str(checkpoints / "electra" / "checkpoint"), num_labels=2)
    with pytest.raises(SpecError) as err:
        Freezing(model, {"freeze_layers": 5})
    assert err.value.field == "training.freeze_layers" and "2 encoder layers" in str(err.value)


def test_a_model_without_found_layers_is_refused_for_fields_that_need_them() -> None:
    from transformers import BertConfig, BertModel

    from bert_studio_trainer.engine.freezing import Freezing

    bare = BertModel(BertConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
                                vocab_size=100))
    for field, value in (("freeze_layers", 1), ("layerwise_lr_decay", 0.9), ("unfreeze_schedule", {"every": 1, "unit": "step"})):
        with pytest.raises(SpecError) as err:
            Freezing(bare, {field: value})
        assert err.value.field == f"training.{field}" and "remove" in str(err.value)
    assert not Freezing(bare, {}).active
