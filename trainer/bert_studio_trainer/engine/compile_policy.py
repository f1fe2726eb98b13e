"""training.torch_compile: true, false, or "auto" (the default).

torch.compile trades a one-off cost (compiling the graph, again when input shapes change until
they are marked dynamic) for faster steps. "auto" compiles only where that trade pays: the run
starts eager, its first steps are timed, and it compiles when the rest of the run, at the gain
expected on that device, saves at least twice the expected compile time. A run shorter than the
compile itself therefore never compiles.

The expected figures per device come from measurements (`bench/compile.py` ->
`bench/results/compile-<device>.json`), not from this code's guesses; where a device has not been
measured yet its entry says so and the policy does not compile there.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Expectation:
    gain: float  # fraction of eager step time saved once compiled (0.1 = steps 10% shorter; < 0: longer)
    compile_seconds: float  # compile time over a run (first shape plus the dynamic recompile)
    source: str  # where the figures come from


# CPU: measured, bench/results/compile-cpu.json (MiniLM on SST-2 through the worker, length-grouped
# batches, bf16 autocast, 2-core AMD EPYC): compiled steps are 28% slower than eager ones, since
# the eager loop keeps the word-embedding gradient by rows (engine/gradients.py), which a compiled
# model gives up, and draws its own dropout masks; so "auto" stays eager on a CPU. (Before those,
# compiling gained 2.3% for 75 s.) CUDA: not measured here yet (no GPU lent so far); the
# prior is the low end of PyTorch 2.0's published training speedups on Hugging Face models (30% to
# 2x on an A100 with AMP), i.e. steps 25% shorter, and a compile of 90 s; `bench/compile.py --device
# cuda` replaces it with measured figures.
EXPECTED: dict[str, Expectation | None] = {
    "cpu": Expectation(gain=-0.278, compile_seconds=5.2, source="measured: bench/results/compile-cpu.json"),
    "cuda": Expectation(gain=0.25, compile_seconds=90.0,
                        source="prior: PyTorch 2.0's published 1.3-2x on Hugging Face models, A100 + AMP"),
}

# Eager steps timed before "auto" decides (the first step is warm-up and not counted).
TIMED_STEPS = 10
PAYBACK = 2.0  # the saving must reach this multiple of the compile time


def decide(device_type: str, step_seconds: float, remaining_steps: int,
           expected: dict[str, Expectation | None] | None = None) -> tuple[bool, str]:
    """(compile now?, why) for "auto" after timing eager steps of `step_seconds` each."""
    table = EXPECTED if expected is None else expected
    exp = table.get(device_type)
    if exp is None:
        return False, (f'training.torch_compile "auto": no measured compile gain for {device_type} yet, so the run '
                       "stays eager (set training.torch_compile to true to compile anyway)")
    if exp.gain <= 0:
        return False, (f'training.torch_compile "auto": staying eager: compiled steps were {-exp.gain:.0%} slower than '
                       f"eager ones on this device ({exp.source})")
    remaining = step_seconds * remaining_steps
    saving = remaining * exp.gain
    figures = (f"{remaining_steps} steps left at {step_seconds * 1000:.0f} ms = {remaining:.0f} s; compiling saves "
               f"{exp.gain:.0%} of that ({saving:.0f} s) and costs about {exp.compile_seconds:.0f} s ({exp.source})")
    if saving >= PAYBACK * exp.compile_seconds:
        return True, f'training.torch_compile "auto": compiling: {figures}'
    return False, f'training.torch_compile "auto": staying eager: {figures}'


def upfront(value: object, distributed: bool, packing: bool) -> tuple[bool | None, str | None]:
    """Before the first step: (True = compile now, False = never, None = time the first steps and
    call `decide`), and a note to log where the setting is overridden."""
    if value is True:
        return True, None
    if value is False:
        return False, None
    if distributed:
        return False, ('training.torch_compile "auto" stays eager under torchrun (the model is wrapped for '
                       "distributed training before any step is timed); set it to true to compile")
    if packing:
        return False, ('training.torch_compile "auto" stays eager with training.packing (every new packed '
                       "layout would recompile)")
    return None, None
