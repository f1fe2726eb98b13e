"""The word-embedding gradient kept by rows (engine/gradients.py): on real SST-2 batches with
padding, the gradients, their clipped norm and the zeroed state equal the dense path's
(clip_grad_norm_ + zero_grad); tied or compiled embeddings stay dense; a whole worker run ends with
the dense run's losses and weights."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from conftest import read_events, write_run
from safetensors.torch import load_file
from test_fault_tolerance import run_spec, train_in_process, write_sst2_subset
from test_packing import _tiny_bert_without_dropout

from bert_studio_trainer.engine import loop
from bert_studio_trainer.engine.gradients import Gradients
from bert_studio_trainer.spec import parse_spec
from bert_studio_trainer.tasks import build_task


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory, data: Path) -> tuple[Any, Any, list[Any]]:
    tmp = tmp_path_factory.mktemp("gradients")
    model = _tiny_bert_without_dropout(tmp / "tiny")
    train_file, _ = write_sst2_subset(data, tmp / "data", n_train=48, n_eval=8)
    spec = parse_spec(run_spec(model, train_file, None, max_seq_length=64))
    task = build_task(spec)
    examples = task.load_examples(spec.data.train, "train")
    task.fit_labels(examples)
    return task, spec.model, task.build_train_features(examples, task.build_tokenizer(spec.model))


def _model(task: Any, model_ref: Any) -> torch.nn.Module:
    torch.manual_seed(0)
    return task.build_model(model_ref)


def test_row_gradients_equal_the_dense_ones(setup: tuple[Any, Any, list[Any]]) -> None:
    task, folder, features = setup
    dense, rows = _model(task, folder), _model(task, folder)
    opt_d = torch.optim.AdamW(dense.parameters(), lr=1e-3)
    opt_r = torch.optim.AdamW(rows.parameters(), lr=1e-3)
    grads = Gradients(rows, opt_r, rows=True)
    assert grads.rows is not None
    for step in range(3):
        batch = task.collate(features[step * 16:(step + 1) * 16], 1)  # mixed lengths: padded rows
        assert (batch["input_ids"] == 0).any(), "the batch should hold padding"
        for model in (dense, rows):
            task.training_step(model, batch)["loss"].backward()
        emb_d, emb_r = dense.get_input_embeddings().weight.grad, rows.get_input_embeddings().weight.grad
        assert emb_d is not None and emb_r is not None
        torch.testing.assert_close(emb_r, emb_d, atol=1e-7, rtol=1e-5)
        assert float(emb_r[0].abs().max()) == 0.0  # [PAD] row: no gradient, as F.embedding gives it
        touched = grads.rows.rows()
        assert touched is not None and set(touched.tolist()) >= set(emb_d.abs().sum(1).nonzero().flatten().tolist())
        grads.complete()
        # A small max_norm, so the gradients really are scaled.
        norm_d = torch.nn.utils.clip_grad_norm_(dense.parameters(), 0.05)
        norm_r = grads.clip(0.05)
        torch.testing.assert_close(norm_r, norm_d, atol=1e-6, rtol=1e-5)
        assert float(norm_d) > 0.05
        for (name, p), q in zip(dense.named_parameters(), rows.parameters(), strict=True):
            torch.testing.assert_close(q.grad, p.grad, atol=1e-7, rtol=1e-5, msg=name)
        opt_d.step()
        opt_r.step()
        opt_d.zero_grad(set_to_none=False)
        grads.zero()
        emb = rows.get_input_embeddings().weight
        assert all(p.grad is None for p in rows.parameters() if p is not emb)  # freed: autograd's next one is kept as is
        assert emb.grad is not None and float(emb.grad.abs().max()) == 0.0
        assert grads.rows.rows() is None
    for (name, p), q in zip(dense.named_parameters(), rows.parameters(), strict=True):
        torch.testing.assert_close(q, p, atol=1e-6, rtol=1e-5, msg=name)


class _TwoHeads(torch.nn.Module):
    """An embedding and two heads, only one of which a step uses."""

    def __init__(self) -> None:
        super().__init__()
        self.emb = torch.nn.Embedding(50, 8, padding_idx=0)
        self.heads = torch.nn.ModuleList([torch.nn.Linear(8, 1), torch.nn.Linear(8, 1)])

    def get_input_embeddings(self) -> torch.nn.Embedding:
        return self.emb

    def forward(self, ids: torch.Tensor, head: int) -> torch.Tensor:
        return self.heads[head](self.emb(ids)).pow(2).mean()


def test_a_parameter_a_step_misses_is_updated_as_before() -> None:
    """Freed gradients: a head that trained and that this step does not reach still gets AdamW's
    update with a zero gradient (momentum, weight decay), as with gradients zeroed in place."""
    torch.manual_seed(0)
    dense = _TwoHeads()
    rows = _TwoHeads()
    rows.load_state_dict(dense.state_dict())
    opt_d = torch.optim.AdamW(dense.parameters(), lr=0.1, weight_decay=0.1)
    opt_r = torch.optim.AdamW(rows.parameters(), lr=0.1, weight_decay=0.1)
    grads = Gradients(rows, opt_r, rows=True)
    assert grads.rows is not None
    ids = torch.tensor([[3, 7, 0], [9, 3, 4]])
    for head in (0, 1, 1, 0, 1):
        dense(ids, head).backward()
        rows(ids, head).backward()
        grads.complete()
        torch.nn.utils.clip_grad_norm_(dense.parameters(), 0.5)
        grads.clip(0.5)
        opt_d.step()
        opt_r.step()
        opt_d.zero_grad(set_to_none=False)
        grads.zero()
    for (name, p), q in zip(dense.named_parameters(), rows.parameters(), strict=True):
        torch.testing.assert_close(q, p, atol=1e-6, rtol=1e-5, msg=name)
    assert not torch.equal(rows.heads[0].weight, _TwoHeads().heads[0].weight)


def test_tied_and_compiled_embeddings_stay_dense(setup: tuple[Any, Any, list[Any]]) -> None:
    """An MLM decoder tied to the word embeddings adds a dense gradient to it: no rows. dense()
    (before torch.compile) gives the embedding its own forward back."""
    from transformers import BertConfig, BertForMaskedLM

    mlm = BertForMaskedLM(BertConfig(vocab_size=100, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                                     intermediate_size=32))
    assert mlm.get_output_embeddings().weight is mlm.get_input_embeddings().weight
    assert Gradients(mlm, torch.optim.AdamW(mlm.parameters()), rows=True).rows is None
    task, folder, features = setup
    model = _model(task, folder)
    grads = Gradients(model, torch.optim.AdamW(model.parameters()), rows=True)
    emb = model.get_input_embeddings()
    assert "forward" in vars(emb)
    grads.dense()
    assert grads.rows is None and "forward" not in vars(emb)
    task.training_step(model, task.collate(features[:8], 1))["loss"].backward()
    assert emb.weight.grad is not None and float(emb.weight.grad.abs().sum()) > 0  # autograd's own, dense


def test_a_run_ends_as_the_dense_run(tmp_path: Path, data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The worker (rows: its default on one eager process) and the same run with dense gradients log
    the same losses and gradient norms and write the same weights."""
    model = _tiny_bert_without_dropout(tmp_path / "tiny")
    train_file, _ = write_sst2_subset(data, tmp_path / "data", n_train=64, n_eval=8)
    runs = {}
    for rows in (True, False):
        if not rows:
            monkeypatch.setattr(loop, "Gradients", lambda m, o, rows: Gradients(m, o, rows=False))
        spec = run_spec(model, train_file, None, max_steps=6, save_steps=100, bf16=False, max_seq_length=64,
                        max_grad_norm=0.5, torch_compile=False)
        runs[rows] = write_run(tmp_path / f"rows-{rows}", spec)
        assert train_in_process(runs[rows]) == 0, read_events(runs[rows], "error")
    steps = {k: read_events(r, "step") for k, r in runs.items()}
    for key in ("loss", "grad_norm"):
        got = torch.tensor([s[key] for s in steps[True]])
        torch.testing.assert_close(got, torch.tensor([s[key] for s in steps[False]]), atol=1e-5, rtol=1e-5)
    a, b = (load_file(r / "model" / "model.safetensors") for r in (runs[False], runs[True]))
    for k in a:
        torch.testing.assert_close(b[k], a[k], atol=1e-5, rtol=1e-4, msg=k)
