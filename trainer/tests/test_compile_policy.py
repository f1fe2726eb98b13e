"""training.torch_compile "auto": the pay-back rule, the up-front overrides, and a worker run that
times its first eager steps, logs the decision and (where the rule says so) continues compiled."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from conftest import read_events, read_status, write_run
from test_engine import tiny  # noqa: F401  (fixture)
from test_fault_tolerance import run_spec, train_in_process

from bert_studio_trainer.engine import compile_policy
from bert_studio_trainer.engine.compile_policy import Expectation, decide, upfront

TABLE = {"cpu": Expectation(gain=0.1, compile_seconds=30.0, source="test"), "cuda": None}


def test_compiles_only_when_the_rest_of_the_run_pays_twice_the_compile() -> None:
    # 0.1 s steps, 10% gain, 30 s compile: pays (saving >= 60 s) from 6,000 remaining steps.
    assert decide("cpu", 0.1, 6000, TABLE)[0] is True
    stay, why = decide("cpu", 0.1, 5999, TABLE)
    assert stay is False and "staying eager" in why and "5999 steps left" in why and "30 s" in why
    # A run shorter than the compile itself never compiles, whatever the gain.
    assert decide("cpu", 0.1, 200, {"cpu": Expectation(1.0, 30.0, "test")})[0] is False


def test_unmeasured_device_stays_eager_and_says_how_to_compile() -> None:
    ok, why = decide("cuda", 0.5, 10**6, TABLE)
    assert ok is False and "no measured compile gain for cuda" in why and "true" in why
    ok, why = decide("mps", 0.5, 10**6)
    assert ok is False and "mps" in why


def test_shipped_expectations_are_sourced() -> None:
    for device, exp in compile_policy.EXPECTED.items():
        if exp is not None:
            assert -1 < exp.gain < 1 and exp.compile_seconds > 0 and exp.source, device


def test_a_device_where_compiling_is_slower_never_compiles() -> None:
    ok, why = decide("cpu", 0.5, 10**9, {"cpu": Expectation(-0.2, 5.0, "test")})
    assert ok is False and "staying eager" in why and "20% slower" in why


@pytest.mark.parametrize(("value", "distributed", "packing", "expected"), [
    (True, False, False, True), (True, True, True, True), (False, False, False, False),
    ("auto", False, False, None), ("auto", True, False, False), ("auto", False, True, False),
])
def test_upfront(value: object, distributed: bool, packing: bool, expected: bool | None) -> None:
    decision, note = upfront(value, distributed, packing)
    assert decision is expected
    assert (note is not None) == (value == "auto" and expected is False)


def _auto_run(tmp_path: Path, tiny_: tuple[Path, Path, Path], name: str, steps: int) -> Path:
    spec = run_spec(tiny_[0], tiny_[1], None, max_steps=steps, max_seq_length=8, save_steps=100,
                    torch_compile="auto")
    run = write_run(tmp_path / name, spec)
    assert train_in_process(run) == 0, read_events(run, "error")
    assert read_status(run)["state"] == "completed"
    assert [s["step"] for s in read_events(run, "step")][-1] == steps
    return run


def _decisions(run: Path) -> list[str]:
    return [e["message"] for e in read_events(run, "log") if "torch_compile" in e.get("message", "")]


def test_auto_short_cpu_run_times_its_steps_and_stays_eager(tmp_path: Path, tiny: tuple[Path, Path, Path],  # noqa: F811
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """A gain that would pay on a long run: this short one times its steps and stays eager."""
    monkeypatch.setitem(compile_policy.EXPECTED, "cpu", Expectation(gain=0.1, compile_seconds=30.0, source="test"))
    run = _auto_run(tmp_path, tiny, "eager", compile_policy.TIMED_STEPS + 3)
    (why,) = _decisions(run)
    assert "staying eager" in why and "2 steps left" in why


def test_auto_without_enough_steps_never_decides(tmp_path: Path, tiny: tuple[Path, Path, Path]) -> None:  # noqa: F811
    assert _decisions(_auto_run(tmp_path, tiny, "short", compile_policy.TIMED_STEPS)) == []


@pytest.mark.slow
def test_auto_compiles_mid_run_where_it_pays(tmp_path: Path, tiny: tuple[Path, Path, Path],  # noqa: F811
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """With an expectation that always pays, the run switches to the compiled model after the timed
    steps and finishes with it (one shape: max_seq_length 8)."""
    monkeypatch.setitem(compile_policy.EXPECTED, "cpu", Expectation(gain=0.9, compile_seconds=1e-6, source="test"))
    torch._dynamo.reset()
    frames_before = torch._dynamo.utils.counters["stats"]["unique_graphs"]
    run = _auto_run(tmp_path, tiny, "compiled", compile_policy.TIMED_STEPS + 3)
    (why,) = _decisions(run)
    assert "compiling" in why
    assert torch._dynamo.utils.counters["stats"]["unique_graphs"] > frames_before
