"""training.packing: several examples per row with restarting position ids and a block-diagonal
mask give the padded batch's loss (1e-5 in fp32) and gradients, on real data, for every family whose
encoder takes position ids and a 4-D mask; the others (DeBERTa-v3, ModernBERT) fall back to padded
batches with the reason logged. A whole run with packing trains as the padded run does."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
import torch
from conftest import data_dir, read_events, write_run
from safetensors.torch import load_file
from test_families import FIXTURES, family_spec
from test_fault_tolerance import run_spec, train_in_process, write_sst2_subset

from bert_studio_trainer.data.collate import Packer, pack_rows, packer_for
from bert_studio_trainer.families import _position_offset
from bert_studio_trainer.spec import parse_spec
from bert_studio_trainer.tasks import build_task

PACKED_FAMILIES = ("bert-uncased", "roberta", "distilbert", "electra", "xlm-roberta")


def test_rows_hold_every_example_once_within_capacity() -> None:
    rng = random.Random(0)
    for _ in range(50):
        lengths = [rng.randint(1, 64) for _ in range(rng.randint(1, 40))]
        capacity = max(lengths) + rng.randint(0, 8)
        rows = pack_rows(lengths, capacity)
        assert sorted(i for row in rows for i in row) == list(range(len(lengths)))
        assert all(sum(lengths[i] for i in row) <= capacity for row in rows)
    assert pack_rows([5, 3, 2, 6], 8) == [[3, 2], [0, 1]]  # longest first: 6 + 2 and 5 + 3, two full rows


@pytest.fixture(scope="module")
def checkpoints(data: Path) -> Path:
    """The tiny family checkpoints of test/fixtures/families/build.py (cached)."""
    return FIXTURES.ensure(data, FIXTURES._tokenizers_module().cache_root(), runs=False)


def _task_model_features(checkpoints: Path, arch: str, case: str) -> tuple[Any, torch.nn.Module, list[Any]]:
    spec = parse_spec(family_spec(data_dir(), checkpoints / arch / "checkpoint", case))
    task = build_task(spec)
    tokenizer = task.build_tokenizer(spec.model)
    examples = task.load_examples(spec.data.train, "train")[:32]
    task.fit_labels(examples)
    features = task.build_train_features(examples, tokenizer)
    torch.manual_seed(0)
    return task, task.build_model(spec.model), features


def _loss_and_grads(task: Any, model: torch.nn.Module, batch: dict[str, torch.Tensor],
                    packer: Packer | None) -> tuple[torch.Tensor, dict[str, torch.Tensor], int]:
    model.zero_grad(set_to_none=True)
    rows = batch["input_ids"].shape[0]
    if packer is None:
        loss = task.training_step(model, batch)["loss"]
    else:
        packed, index = packer.pack(batch)
        rows = packed["input_ids"].shape[0]
        with packer.unpacking(index):
            loss = task.training_step(model, packed)["loss"]
    loss.backward()
    return loss.detach(), {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}, rows


@pytest.mark.parametrize("case", ["single", "ner"])
@pytest.mark.parametrize("arch", PACKED_FAMILIES)
def test_packed_loss_and_gradients_equal_padded(checkpoints: Path, arch: str, case: str) -> None:
    task, model, features = _task_model_features(checkpoints, arch, case)
    model.eval()  # no dropout: the two layouts would draw different masks
    batch = task.collate(features[:16])  # the data's order: mixed lengths, as without length grouping
    packer, note = packer_for(model, features, task.collate, _position_offset(model.base_model))
    assert packer is not None, note
    plain_loss, plain_grads, plain_rows = _loss_and_grads(task, model, batch, None)
    packed_loss, packed_grads, packed_rows = _loss_and_grads(task, model, batch, packer)
    assert packed_rows < plain_rows  # several examples did share rows
    assert abs(float(packed_loss) - float(plain_loss)) <= 1e-5
    assert packed_grads.keys() == plain_grads.keys()
    for name, grad in plain_grads.items():
        torch.testing.assert_close(packed_grads[name], grad, atol=1e-5, rtol=1e-4, msg=name)


@pytest.mark.parametrize(("arch", "why"), [("deberta-v3", "it cannot run on packed rows"),
                                           ("modernbert", "it cannot run on packed rows")])
def test_families_without_packing_fall_back(checkpoints: Path, arch: str, why: str) -> None:
    """DeBERTa's relative-position attention reads the mask its own way, ModernBERT has no encoder
    module (and its own unpadding): both train on padded batches, and the log says why."""
    task, model, features = _task_model_features(checkpoints, arch, "single")
    packer, note = packer_for(model, features, task.collate, _position_offset(model.base_model))
    assert packer is None
    assert note.startswith(f"training.packing is off for {type(model).__name__}: {why}") and "padded batches" in note


def test_a_wrong_position_layout_is_caught(checkpoints: Path) -> None:
    """The check compares with the model's own outputs: RoBERTa's positions counted from 0 instead of
    padding_idx + 1 change them, and packing is refused."""
    task, model, features = _task_model_features(checkpoints, "roberta", "single")
    assert _position_offset(model.base_model) == 2
    packer, note = packer_for(model, features, task.collate, 0)
    assert packer is None and "packed rows change its outputs by" in note


def _tiny_bert_without_dropout(folder: Path) -> Path:
    import shutil

    from transformers import BertConfig, BertModel

    from bert_studio_trainer.models import default_model_path

    config = BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=128, hidden_dropout_prob=0.0,
                        attention_probs_dropout_prob=0.0)
    torch.manual_seed(0)
    BertModel(config).save_pretrained(folder, safe_serialization=True)
    for name in ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        shutil.copy(default_model_path() / name, folder / name)
    return folder


def test_a_packed_run_trains_as_the_padded_run(tmp_path: Path, data: Path) -> None:
    """The worker with packing: true (no length grouping, so rows really mix lengths) logs the check
    and ends with the padded run's losses and weights."""
    model = _tiny_bert_without_dropout(tmp_path / "tiny")
    train_file, _ = write_sst2_subset(data, tmp_path / "data", n_train=64, n_eval=8)
    runs = {}
    for packing in (False, True):
        spec = run_spec(model, train_file, None, max_steps=4, save_steps=100, group_by_length=False,
                        packing=packing, bf16=False, max_seq_length=64)
        runs[packing] = write_run(tmp_path / f"packing-{packing}", spec)
        assert train_in_process(runs[packing]) == 0, read_events(runs[packing], "error")
    logs = [e["message"] for e in read_events(runs[True], "log")]
    assert any(m.startswith("training.packing: several examples per row") for m in logs), logs
    assert not any("packing" in e["message"] for e in read_events(runs[False], "log"))
    losses = {k: torch.tensor([s["loss"] for s in read_events(r, "step")]) for k, r in runs.items()}
    torch.testing.assert_close(losses[True], losses[False], atol=1e-5, rtol=1e-5)
    a, b = (load_file(r / "model" / "model.safetensors") for r in (runs[False], runs[True]))
    for k in a:
        torch.testing.assert_close(b[k], a[k], atol=1e-5, rtol=1e-4, msg=k)
