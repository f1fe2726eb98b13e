"""Security of the worker: pickled weights are never unpickled unless the user opts in, and the
trainer's source has no other way to run code from a file or through a shell.

test_spec.py checks that parse_spec refuses a pickled-only folder; these tests drive the whole
worker, with a pickle that leaves a marker file if anything ever unpickles it.
"""

from __future__ import annotations

import ast
import json
import pickle
import shutil
from pathlib import Path

import pytest
import torch
from conftest import read_events, read_status, write_run
from safetensors.torch import load_file
from test_fault_tolerance import make_tiny_model, run_spec, train_in_process, write_sst2_subset

TRAINER_SRC = Path(__file__).resolve().parents[1] / "bert_studio_trainer"


class _Payload:
    """Unpickling calls open(marker, "w"): the marker file exists iff something unpickled it."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return open, (str(self.marker), "w")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory, data: Path) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("security")
    return make_tiny_model(root / "tiny-bert"), write_sst2_subset(data, root / "data", n_train=16, n_eval=8)[0]


def model_folder(tmp_path: Path, tiny: Path, weights: str) -> tuple[Path, Path]:
    """A copy of the tiny model with `weights`: "malicious-bin", "real-bin" or "safetensors+malicious-bin"."""
    folder, marker = tmp_path / "model", tmp_path / "UNPICKLED"
    shutil.copytree(tiny, folder)
    if weights == "real-bin":
        torch.save(load_file(str(folder / "model.safetensors")), folder / "pytorch_model.bin")
    else:
        (folder / "pytorch_model.bin").write_bytes(pickle.dumps(_Payload(marker)))
    if weights != "safetensors+malicious-bin":
        (folder / "model.safetensors").unlink()
    return folder, marker


def one_step_run(tmp_path: Path, model: Path, train_file: Path, trust_pickle: bool) -> Path:
    spec = run_spec(model, train_file, None, max_steps=1, learning_rate=1e-30, save_steps=1)
    spec["model"]["trust_pickle"] = trust_pickle
    return write_run(tmp_path / "run", spec)


def test_pickled_only_weights_are_refused_by_the_worker(tmp_path: Path, tiny: tuple[Path, Path]) -> None:
    folder, marker = model_folder(tmp_path, tiny[0], "malicious-bin")
    run = one_step_run(tmp_path, folder, tiny[1], trust_pickle=False)
    assert train_in_process(run) == 2
    errors = read_events(run, "error")
    assert len(errors) == 1 and errors[0]["field"] == "model.name_or_path", errors
    message = errors[0]["message"]
    assert "pytorch_model.bin" in message and "pickled" in message and "model.trust_pickle" in message, message
    assert read_status(run)["state"] == "failed"
    assert not (run / "checkpoints").exists() and not marker.exists()


def test_trust_pickle_loads_pickled_weights(tmp_path: Path, tiny: tuple[Path, Path]) -> None:
    folder, _ = model_folder(tmp_path, tiny[0], "real-bin")
    run = one_step_run(tmp_path, folder, tiny[1], trust_pickle=True)
    assert train_in_process(run) == 0, read_events(run, "error")
    # learning rate 1e-30 (0 is refused): the trained encoder is the pickled one (not a random initialisation).
    pickled = torch.load(folder / "pytorch_model.bin", weights_only=True)
    trained = load_file(str(run / "model" / "model.safetensors"))
    encoder = {k.removeprefix("bert."): v for k, v in trained.items() if k.startswith("bert.")}
    assert pickled.keys() <= encoder.keys()
    for k, v in pickled.items():
        torch.testing.assert_close(encoder[k], v, msg=k)


@pytest.mark.parametrize("weights, trust, exit_code", [
    ("safetensors+malicious-bin", False, 0),  # safetensors present: the pickle is never opened
    ("malicious-bin", True, 1),  # opted in, still loaded with weights_only: refused, not executed
])
def test_malicious_pickle_never_runs(tmp_path: Path, tiny: tuple[Path, Path], weights: str, trust: bool,
                                     exit_code: int) -> None:
    folder, marker = model_folder(tmp_path, tiny[0], weights)
    run = one_step_run(tmp_path, folder, tiny[1], trust_pickle=trust)
    assert train_in_process(run) == exit_code, read_events(run, "error")
    assert not marker.exists(), "a pickle in the model folder was executed"
    if exit_code:
        assert read_status(run)["state"] == "failed" and read_events(run, "error")


# ---- static checks of the trainer's source ------------------------------------------------------
def _calls(tree: ast.AST) -> list[tuple[str, ast.Call]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            f = node.func
            name = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""
            if isinstance(f, ast.Attribute):  # x.load -> "x.load"; a method on an expression -> "?.eval"
                name = f"{f.value.id if isinstance(f.value, ast.Name) else '?'}.{name}"
            found.append((name, node))
    return found


def _kw(call: ast.Call, name: str) -> object:
    for k in call.keywords:
        if k.arg == name:
            return k.value.value if isinstance(k.value, ast.Constant) else "<expr>"
    return None


def source_problems(source: str, where: str) -> list[str]:
    problems = []
    for name, call in _calls(ast.parse(source)):
        at = f"{where}:{call.lineno}"
        if name == "torch.load" and _kw(call, "weights_only") is not True:
            problems.append(f"{at}: torch.load without weights_only=True")
        if name in ("pickle.load", "pickle.loads", "dill.load", "joblib.load", "os.system", "os.popen", "eval", "exec"):
            problems.append(f"{at}: {name}")
        if _kw(call, "trust_remote_code") not in (None, False):
            problems.append(f"{at}: trust_remote_code")
        if _kw(call, "shell") not in (None, False):
            problems.append(f"{at}: shell=True")
        if name.endswith("from_pretrained") and _kw(call, "use_safetensors") is False:
            problems.append(f"{at}: use_safetensors=False")
    return problems


def test_source_check_finds_what_it_looks_for() -> None:
    bad = ("torch.load(f)\ntorch.load(f, weights_only=False)\npickle.loads(b)\neval(s)\nos.system(c)\n"
           "subprocess.run(c, shell=True)\nM.from_pretrained(p, trust_remote_code=True)\n"
           "M.from_pretrained(p, use_safetensors=False)\n")
    assert len(source_problems(bad, "x.py")) == 8
    good = "torch.load(f, weights_only=True)\nmodel.eval()\nWrapper(m).eval()\nsubprocess.run([a, b])\n"
    assert source_problems(good, "x.py") == []


def test_trainer_source_loads_no_pickle_and_runs_no_shell() -> None:
    files = sorted(TRAINER_SRC.rglob("*.py"))
    assert len(files) > 10
    problems = [p for f in files for p in source_problems(f.read_text(encoding="utf-8"), str(f.relative_to(TRAINER_SRC.parent)))]
    assert problems == [], "\n".join(problems)


def test_checkpoints_hold_no_pickled_weights(tmp_path: Path, tiny: tuple[Path, Path]) -> None:
    """What the worker writes and later loads: weights as safetensors, the rest read with weights_only."""
    run = one_step_run(tmp_path, tiny[0], tiny[1], trust_pickle=False)
    assert train_in_process(run) == 0
    ckpt = run / "checkpoints" / "step-1"
    assert (ckpt / "model.safetensors").is_file() and not list(ckpt.glob("*.bin"))
    assert not list((run / "model").glob("*.bin"))
    for pt in ckpt.glob("*.pt"):
        torch.load(pt, weights_only=True)
    assert json.loads((ckpt / "trainer_state.json").read_text())["step"] == 1
