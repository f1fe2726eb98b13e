"""training.prune_last_layer: the last encoder layer run only at the token the head reads gives the
full model's logits, loss (1e-5 in fp32) and every parameter's gradient (1e-5 relative), on padded
batches of mixed lengths and on packed rows, for BERT, RoBERTa, DistilBERT, ELECTRA and XLM-R; the
others (DeBERTa-v3, ModernBERT, a head that reads more than token 0) train the full model with the
reason logged. A whole run pruned ends where the full run ends."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import test_packing
import torch
from conftest import data_dir, read_events, write_run
from safetensors.torch import load_file
from test_families import family_spec
from test_fault_tolerance import run_spec, train_in_process, write_sst2_subset
from test_packing import _task_model_features, _tiny_bert_without_dropout

from bert_studio_trainer.data.collate import Packer, packer_for
from bert_studio_trainer.engine.head_positions import HeadPositions, head_positions_for
from bert_studio_trainer.families import _position_offset
from bert_studio_trainer.spec import SpecError, parse_spec

checkpoints = test_packing.checkpoints  # the tiny family checkpoints (a module-scoped fixture)

PRUNED_FAMILIES = ("bert-uncased", "roberta", "distilbert", "electra", "xlm-roberta")




def _forward_backward(task: Any, model: torch.nn.Module, batch: dict[str, torch.Tensor], heads: HeadPositions | None,
                      packer: Packer | None = None) -> tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
    """(loss, logits, gradients) of one training step, the last layer pruned with `heads`."""
    model.zero_grad(set_to_none=True)
    logits: list[torch.Tensor] = []
    hook = model.register_forward_hook(lambda _m, _i, out: logits.append(out.logits.detach()))
    try:
        if packer is not None:
            batch, index = packer.pack(batch)
            assert heads is not None
            with heads.pruning(index[:, 0]):
                loss = task.training_step(model, batch)["loss"]
        elif heads is not None:
            with heads.pruning():
                loss = task.training_step(model, batch)["loss"]
        else:
            loss = task.training_step(model, batch)["loss"]
    finally:
        hook.remove()
    loss.backward()
    return loss.detach(), logits[0], {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}


def _assert_same_step(got: tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]],
                      want: tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]) -> None:
    (loss, logits, grads), (want_loss, want_logits, want_grads) = got, want
    assert abs(float(loss) - float(want_loss)) <= 1e-5
    assert logits.shape == want_logits.shape
    assert float((logits - want_logits).abs().max()) <= 1e-5
    assert grads.keys() == want_grads.keys()  # the last layer's query, FFN and LayerNorms still learn
    for name, grad in want_grads.items():
        # The attention key biases' gradients are 0 in exact arithmetic (softmax ignores a score added to
        # every key): both sides are ~1e-13 of rounding, hence the absolute floor, far below any real one.
        error = float((grads[name] - grad).norm())
        assert error <= 1e-5 * float(grad.norm()) + 1e-10, f"{name}: gradient error {error:.2g} of {float(grad.norm()):.2g}"


@pytest.mark.parametrize("case", ["single", "pair"])
@pytest.mark.parametrize("arch", PRUNED_FAMILIES)
def test_pruned_step_equals_full(checkpoints: Path, arch: str, case: str) -> None:
    task, model, features = _task_model_features(checkpoints, arch, case)
    model.eval()  # no dropout: the pruned layer draws fewer random numbers
    heads, note = head_positions_for(model, features, task.collate, None)
    assert heads is not None, note
    assert note.startswith("training.prune_last_layer: the last layer's queries") and type(model).__name__ in note
    batch = task.collate(features[:16])  # the data's order: mixed lengths, padding in most rows
    assert not bool(batch["attention_mask"].all())
    full = _forward_backward(task, model, batch, None)
    _assert_same_step(_forward_backward(task, model, batch, heads), full)
    assert "forward" not in vars(heads.layer)  # outside pruning() the layer is the class's again
    _assert_same_step(_forward_backward(task, model, batch, None), full)


@pytest.mark.parametrize("arch", PRUNED_FAMILIES)
def test_pruned_packed_step_equals_full_padded(checkpoints: Path, arch: str) -> None:
    """With packing, each example's first token in its packed row is its head position."""
    task, model, features = _task_model_features(checkpoints, arch, "single")
    model.eval()
    packer, note = packer_for(model, features, task.collate, _position_offset(model.base_model))
    assert packer is not None, note
    heads, note = head_positions_for(model, features, task.collate, packer)
    assert heads is not None and "(each packed example)" in note, note
    batch = task.collate(features[:16])
    assert packer.pack(batch)[0]["input_ids"].shape[0] < 16  # several examples did share rows
    _assert_same_step(_forward_backward(task, model, batch, heads, packer), _forward_backward(task, model, batch, None))


def test_eager_attention_and_multi_label(checkpoints: Path) -> None:
    """The eager attention path (an additive float mask) and a multi-label head prune alike."""
    task, model, features = _task_model_features(checkpoints, "bert-uncased", "single")
    model.set_attn_implementation("eager")
    model.eval()
    heads, note = head_positions_for(model, features, task.collate, None)
    assert heads is not None, note
    batch = task.collate(features[:16])
    _assert_same_step(_forward_backward(task, model, batch, heads), _forward_backward(task, model, batch, None))
    model.config.problem_type = "multi_label_classification"
    batch["labels"] = torch.nn.functional.one_hot(batch["labels"], model.config.num_labels).float()
    _assert_same_step(_forward_backward(task, model, batch, heads), _forward_backward(task, model, batch, None))


def test_bf16_autocast_and_dropout_run_pruned(checkpoints: Path) -> None:
    """Under bf16 autocast the pruned logits are the full ones within bf16 rounding; in training mode
    (dropout on) the pruned step runs and every parameter still gets its gradient."""
    task, model, features = _task_model_features(checkpoints, "roberta", "single")
    model.eval()
    heads, _ = head_positions_for(model, features, task.collate, None)
    assert heads is not None
    batch = {k: v for k, v in task.collate(features[:16]).items() if k != "labels"}
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        want = model(**batch).logits.float()
        with heads.pruning():
            got = model(**batch).logits.float()
    assert float((got - want).abs().max()) <= 2e-2 * max(1.0, float(want.abs().max()))
    model.train()
    full = _forward_backward(task, model, task.collate(features[:16]), None)
    pruned = _forward_backward(task, model, task.collate(features[:16]), heads)
    assert pruned[2].keys() == full[2].keys() and bool(torch.isfinite(pruned[0]))


@pytest.mark.parametrize(("arch", "why"), [("deberta-v3", "its last layer (DebertaV2Layer) is not BERT's or DistilBERT's"),
                                           ("modernbert", "ModernBertModel has no encoder module")])
def test_other_families_fall_back(checkpoints: Path, arch: str, why: str) -> None:
    task, model, features = _task_model_features(checkpoints, arch, "single")
    heads, note = head_positions_for(model, features, task.collate, None)
    assert heads is None
    assert note.startswith(f"training.prune_last_layer is off for {type(model).__name__}: {why}"), note
    assert note.endswith("the last layer runs at every position")


def test_a_head_reading_every_token_is_caught(checkpoints: Path) -> None:
    """The check compares with the model's own logits: a pooler that averages every token (as
    ModernBERT's mean pooling does) would read the pruned layer's one token, and pruning is refused."""
    task, model, features = _task_model_features(checkpoints, "bert-uncased", "single")
    pooler = model.bert.pooler
    pooler.forward = lambda hidden: pooler.activation(pooler.dense(hidden.mean(dim=1)))
    heads, note = head_positions_for(model, features, task.collate, None)
    assert heads is None and "its head reads more than token 0 (pruned logits differ by" in note, note
    assert "forward" not in vars(model.bert.encoder.layer[-1])  # the check leaves the layer as it was


def test_spec_field(tmp_path: Path) -> None:
    train = tmp_path / "train.jsonl"
    train.write_text('{"text": "a", "label": "x"}\n', encoding="utf-8")
    spec = {"version": 1, "task": "sequence_classification", "model": {"name_or_path": "default"},
            "data": {"train": str(train)}}
    assert parse_spec(spec).t("prune_last_layer") is True
    with pytest.raises(SpecError) as e:
        parse_spec({**spec, "training": {"prune_last_layer": "yes"}})
    assert e.value.field == "training.prune_last_layer"
    with pytest.raises(SpecError):  # a classification-only field
        parse_spec({**spec, "task": "token_classification", "training": {"prune_last_layer": True}})


def test_a_pruned_run_trains_as_the_full_run(tmp_path: Path, data: Path) -> None:
    """The worker on SST-2 rows (no dropout, so both runs draw nothing at random after the start)
    logs its decision, and ends with the full run's losses, dev accuracy and weights."""
    model = _tiny_bert_without_dropout(tmp_path / "tiny")
    train_file, dev_file = write_sst2_subset(data, tmp_path / "data", n_train=64, n_eval=32)
    runs = {}
    for prune in (False, True):
        spec = run_spec(model, train_file, dev_file, max_steps=8, save_steps=100, eval_steps=4, bf16=False,
                        max_seq_length=64, prune_last_layer=prune)
        runs[prune] = write_run(tmp_path / f"prune-{prune}", spec)
        assert train_in_process(runs[prune]) == 0, read_events(runs[prune], "error")
    logs = [e["message"] for e in read_events(runs[True], "log")]
    assert any(m.startswith("training.prune_last_layer: the last layer's queries") for m in logs), logs
    assert not any("prune_last_layer" in e["message"] for e in read_events(runs[False], "log"))
    losses = {k: torch.tensor([s["loss"] for s in read_events(r, "step")]) for k, r in runs.items()}
    torch.testing.assert_close(losses[True], losses[False], atol=1e-5, rtol=1e-5)
    evals = {k: [(e["step"], e["metrics"]) for e in read_events(r, "eval")] for k, r in runs.items()}
    assert [s for s, _ in evals[True]] == [4, 8]
    for (_, got), (_, want) in zip(evals[True], evals[False], strict=True):
        assert got["accuracy"] == want["accuracy"]
        assert abs(got["loss"] - want["loss"]) <= 1e-5
    a, b = (load_file(r / "model" / "model.safetensors") for r in (runs[False], runs[True]))
    for k in a:
        torch.testing.assert_close(b[k], a[k], atol=1e-5, rtol=1e-4, msg=k)


def test_a_family_without_pruning_trains(tmp_path: Path, checkpoints: Path) -> None:
    """DeBERTa-v3 trains the full model: the run completes and its log says why."""
    spec = family_spec(data_dir(), checkpoints / "deberta-v3" / "checkpoint", "single", max_steps=2, save_steps=100,
                       eval_steps=2)
    spec["export"] = {"onnx": False}
    run = write_run(tmp_path / "deberta", spec)
    assert train_in_process(run) == 0, read_events(run, "error")
    logs = [e["message"] for e in read_events(run, "log")]
    assert any(m.startswith("training.prune_last_layer is off for DebertaV2ForSequenceClassification") for m in logs), logs
    assert read_events(run, "eval")
