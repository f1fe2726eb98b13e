"""CPU dropout masks from 32-bit draws (engine/dropout_masks.py): Bernoulli(p) frequencies, no
correlation between the two halves of a 64-bit word, every dtype and layout dropout uses, seeded
reproducibility, ATen's kernel back after the context, the vendor rule, and the worker's log line."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from conftest import read_events, write_run
from test_fault_tolerance import run_spec, train_in_process, write_sst2_subset

from bert_studio_trainer.engine.dropout_masks import fast_dropout_masks, serial_bernoulli

N = 1 << 20


def _within(mean: float, p: float, n: int) -> bool:
    return abs(mean - p) <= 6 * math.sqrt(p * (1 - p) / n)


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9, 0.999])
def test_masks_are_bernoulli_p(p: float) -> None:
    torch.manual_seed(1)
    with fast_dropout_masks():
        x = torch.empty(N).bernoulli_(p)
    assert set(x.unique().tolist()) <= {0.0, 1.0}
    assert _within(float(x.mean()), p, N)
    # The two 32-bit halves of each 64-bit word are independent: P(both ones) = p^2.
    pairs = x.view(-1, 2)
    assert _within(float((pairs[:, 0] * pairs[:, 1]).mean()), p * p, N // 2)
    # Neighbouring words too.
    assert _within(float((x[:-2] * x[2:]).mean()), p * p, N - 2)


def test_every_dtype_and_layout_and_the_edges() -> None:
    torch.manual_seed(2)
    with fast_dropout_masks():
        for dtype in (torch.float32, torch.bfloat16, torch.float64, torch.bool):
            x = torch.empty(4097, dtype=dtype).bernoulli_(0.3)
            assert _within(float(x.float().mean()), 0.3, 4097), dtype
        t = torch.empty(300, 200).t()  # not contiguous
        t.bernoulli_(0.5)
        assert _within(float(t.mean()), 0.5, t.numel())
        assert float(torch.empty(1000).bernoulli_(1.0).min()) == 1.0
        assert float(torch.empty(1000).bernoulli_(0.0).max()) == 0.0
        with pytest.raises(ValueError, match="p to be in"):
            torch.empty(3).bernoulli_(1.5)
        d = torch.nn.functional.dropout(torch.ones(N), 0.1, training=True)
        assert _within(float((d == 0).float().mean()), 0.1, N)
        assert torch.allclose(d[d != 0], torch.tensor(1 / 0.9))


def test_seeded_and_restored() -> None:
    def masks() -> torch.Tensor:
        with fast_dropout_masks():
            return torch.empty(1000).bernoulli_(0.5)

    torch.manual_seed(3)
    a = masks()
    torch.manual_seed(3)
    assert torch.equal(masks(), a)
    torch.manual_seed(4)
    assert not torch.equal(masks(), a)
    # After the context, ATen's own kernel: its stream from a seed, not ours.
    torch.manual_seed(3)
    theirs = torch.empty(1000).bernoulli_(0.5)
    assert not torch.equal(theirs, a)
    torch.manual_seed(3)
    assert torch.equal(torch.empty(1000).bernoulli_(0.5), theirs)


def test_the_vendor_rule(tmp_path: Path) -> None:
    amd, intel = tmp_path / "amd", tmp_path / "intel"
    amd.write_text("processor\t: 0\nvendor_id\t: AuthenticAMD\n")
    intel.write_text("processor\t: 0\nvendor_id\t: GenuineIntel\n")
    assert serial_bernoulli(str(amd)) is True
    assert serial_bernoulli(str(intel)) is (not torch.backends.mkl.is_available())


def test_the_worker_says_when_it_uses_them(tmp_path: Path, data: Path) -> None:
    train_file, _ = write_sst2_subset(data, tmp_path / "data", n_train=32, n_eval=8)
    from bert_studio_trainer.models import default_model_path

    run = write_run(tmp_path / "run", run_spec(default_model_path(), train_file, None, max_steps=2, save_steps=100,
                                               bf16=False, torch_compile=False))
    assert train_in_process(run) == 0, read_events(run, "error")
    logs = [e["message"] for e in read_events(run, "log")]
    said = any(m.startswith("dropout masks from 32-bit random draws") for m in logs)
    assert said is serial_bernoulli(), logs
    # The context is closed with the run: ATen's own kernel again in this process.
    torch.manual_seed(5)
    a = torch.empty(100).bernoulli_(0.5)
    with fast_dropout_masks():
        torch.manual_seed(5)
        b = torch.empty(100).bernoulli_(0.5)
    assert not torch.equal(a, b)
