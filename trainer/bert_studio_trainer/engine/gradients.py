"""Clipping and zeroing the gradients between steps, with the word-embedding gradient kept by rows.

A step's batch touches a few hundred of the word embedding's rows (MiniLM: 30,522 x 384, 47 MB in
fp32, half of the model's parameters), yet autograd handles its gradient as a dense matrix: the
embedding's backward allocates a fresh zero matrix (new pages from the kernel on a CPU) and adds the
batch's rows into it, AccumulateGrad adds that into ``.grad``, clipping reads all of it for its norm
and multiplies all of it, and zeroing writes all of it again. On a 2-core CPU those five passes took
about 9% of a MiniLM fine-tuning step.

``Gradients`` keeps the same gradients with less traffic. While ``rows`` is active, the input
embedding runs through ``_RowGradEmbedding``, whose backward adds the batch's gradient rows straight
into ``weight.grad`` (``index_add_``) and records which rows it touched; every other row of that
gradient is exactly zero (zeroed once, never written since). So the clip's norm and scaling read
only those rows, and zeroing clears only those rows. The result is the same gradient (sums of the
same rows, in another order: equal to float rounding), the same norm and the same clipping as
``torch.nn.utils.clip_grad_norm_``; the optimizer still sees (and updates) the whole matrix, as
AdamW must.

Used when nothing else writes that gradient: one process (DDP reduces gradients from AccumulateGrad
hooks this bypasses), an embedding not tied to an output layer (an MLM decoder adds a dense gradient
to it), a plain ``nn.Embedding`` (no max_norm, scale_grad_by_freq or sparse), and an eager model:
``dense()`` switches back for good before torch.compile traces the model. Anything else clips and
zeroes exactly as before.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn


class _RowGradEmbedding(torch.autograd.Function):
    """F.embedding whose weight gradient goes straight into ``weight.grad``, row by row."""

    @staticmethod
    def forward(ctx: Any, ids: torch.Tensor, weight: torch.Tensor, rows: EmbeddingRows) -> torch.Tensor:  # type: ignore[override]
        ctx.save_for_backward(ids)
        ctx.rows = rows
        return nn.functional.embedding(ids, weight, rows.embedding.padding_idx)

    @staticmethod
    def backward(ctx: Any, grad_output: torch.Tensor) -> tuple[None, None, None]:  # type: ignore[override]
        (ids,) = ctx.saved_tensors
        ctx.rows.accumulate(ids, grad_output)
        return None, None, None  # no dense gradient for autograd to accumulate


class EmbeddingRows:
    """The input embedding's gradient kept by rows: which rows may be nonzero, and writing them."""

    def __init__(self, embedding: nn.Embedding) -> None:
        self.embedding = embedding
        self.weight = embedding.weight
        self.touched: list[torch.Tensor] = []  # ids whose rows were written since the last zero()
        self.active = True
        embedding.forward = self._forward  # type: ignore[method-assign]

    def _forward(self, ids: torch.Tensor) -> torch.Tensor:
        if self.active and torch.is_grad_enabled() and self.weight.requires_grad:
            return _RowGradEmbedding.apply(ids, self.weight, self)
        return nn.Embedding.forward(self.embedding, ids)

    def accumulate(self, ids: torch.Tensor, grad_output: torch.Tensor) -> None:
        w = self.weight
        if w.grad is None:
            w.grad = torch.zeros_like(w)
        flat = ids.reshape(-1)
        w.grad.index_add_(0, flat, grad_output.reshape(flat.numel(), -1).to(w.grad.dtype))
        pad = self.embedding.padding_idx
        if pad is not None:  # F.embedding gives the padding row no gradient; it was zero before
            w.grad[pad].zero_()
        self.touched.append(flat)

    def rows(self) -> torch.Tensor | None:
        """The rows of ``weight.grad`` that may be nonzero (every other one is exactly 0), or None."""
        if not self.touched:
            return None
        if len(self.touched) > 1:
            self.touched = [torch.cat(self.touched)]
        return torch.unique(self.touched[0])

    def zero(self) -> None:
        rows = self.rows()
        if rows is not None and self.weight.grad is not None:
            self.weight.grad.index_fill_(0, rows, 0)
        self.touched = []

    def close(self) -> None:
        """Back to nn.Embedding's own forward (and dense gradients) for good."""
        self.active = False
        del self.embedding.forward  # the instance attribute: the class's forward again


def _row_embedding(model: nn.Module) -> nn.Embedding | None:
    """The model's input embedding when its gradient can be kept by rows, else None."""
    get_in = getattr(model, "get_input_embeddings", None)
    emb = get_in() if callable(get_in) else None
    if type(emb) is not nn.Embedding or emb.max_norm is not None or emb.scale_grad_by_freq or emb.sparse:
        return None
    get_out = getattr(model, "get_output_embeddings", None)
    out = get_out() if callable(get_out) else None
    if out is not None and getattr(out, "weight", None) is emb.weight:
        return None
    return emb


class Gradients:
    """Clip and zero a model's gradients between optimizer steps (this module's docstring)."""

    def __init__(self, model: nn.Module, optimizer: torch.optim.Optimizer, rows: bool) -> None:
        self.model, self.optimizer = model, optimizer
        emb = _row_embedding(model) if rows else None
        self.rows: EmbeddingRows | None = EmbeddingRows(emb) if emb is not None else None

    def dense(self) -> None:
        """Dense gradients from here on (before torch.compile); the gradients must be zero now."""
        if self.rows is not None:
            self.rows.close()
            self.rows = None

    def _split(self) -> tuple[list[torch.Tensor], torch.Tensor | None]:
        skip = self.rows.weight if self.rows is not None else None
        grads = [p.grad for p in self.model.parameters() if p.grad is not None and p is not skip]
        return grads, (skip.grad if skip is not None else None)

    def complete(self) -> None:
        """Before clipping and the optimizer step: every parameter with optimizer state (one that has
        trained) has a gradient, zeros where this step did not reach it, as zeroing in place leaves
        it; so AdamW updates exactly the parameters it updated before gradients were freed."""
        if self.rows is None:
            return
        for p in self.model.parameters():
            if p.grad is None and p.requires_grad and self.optimizer.state.get(p):
                p.grad = torch.zeros_like(p)

    def clip(self, max_norm: float) -> torch.Tensor:
        """``clip_grad_norm_(parameters, max_norm)``: the total 2-norm before clipping."""
        if self.rows is None:
            return torch.nn.utils.clip_grad_norm_(self.model.parameters(), max_norm)
        grads, emb_grad = self._split()
        rows = self.rows.rows()
        norms: Sequence[torch.Tensor] = torch._foreach_norm(grads, 2.0) if grads else []
        parts = list(norms)
        if emb_grad is not None and rows is not None:
            parts.append(torch.linalg.vector_norm(emb_grad.index_select(0, rows), 2.0))
        if not parts:
            return torch.tensor(0.0)
        total = torch.linalg.vector_norm(torch.stack(parts), 2.0)
        coef = torch.clamp(max_norm / (total + 1e-6), max=1.0)  # as clip_grads_with_norm_
        if grads:
            torch._foreach_mul_(grads, coef)
        if emb_grad is not None and rows is not None:
            emb_grad.index_copy_(0, rows, emb_grad.index_select(0, rows) * coef)
        return total

    def zero(self) -> None:
        """Every gradient to zero, for the next step. Dense: in place (``zero_grad(set_to_none=False)``;
        freeing the 47 MB embedding gradient made a CPU allocate fresh pages each step). With rows:
        the embedding's touched rows in place, the others freed (autograd's new gradient then
        becomes ``.grad`` as it is, with no fill and no add: about 3.5% of a MiniLM CPU step), and
        ``complete()`` gives back a zero gradient to any that trained before and this step missed."""
        if self.rows is None:
            self.optimizer.zero_grad(set_to_none=False)
            return
        for p in self.model.parameters():
            if p is not self.rows.weight:
                p.grad = None
        self.rows.zero()
