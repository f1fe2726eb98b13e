"""Every supported architecture end to end on tiny random checkpoints (test/fixtures/families/build.py):
train, resume, ONNX export with parity, and int8 inference, one record per architecture.

For each architecture: token classification on CoNLL-2003 (8 steps) straight through with its ONNX
export, and again stopped at step 4 then resumed; resume passes when the resumed run's step losses
and final weights equal the straight run's. Export passes when the parity check held (the fp32
graph's max abs difference from PyTorch is recorded). Inference runs the exported int8 graph
(model_quantized.onnx, onnxruntime CPU, 1 thread) on a sentence through the exported tokenizer;
its warm latency is the median of 50 runs after 5 warm-up runs. Continued MLM (WikiText-2, 4 steps,
with export) is recorded as pass, fail or refused (with the reason) per architecture.

Writes bench/results/model-families.json, keeping the keys other scripts wrote there
(`offsets_parity`, from the host's parity test). Tiny random models: latencies compare the
architectures' graphs, not real model sizes.

    OMP_NUM_THREADS=1 .venv/bin/python bench/model_families.py
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "trainer"))
sys.path.insert(0, str(REPO / "trainer" / "tests"))
os.environ.setdefault("BERT_STUDIO_NUM_THREADS", "1")

import numpy as np
import onnxruntime as ort
import test_families as tf
import torch
from bert_studio_trainer.families import load_tokenizer, model_facts, task_refusal
from bert_studio_trainer.train import train
from conftest import data_dir, read_events, write_run
from safetensors.torch import load_file

OUT = REPO / "bench" / "results" / "model-families.json"
SENTENCE = "Ada Lovelace worked with Charles Babbage on the Analytical Engine in London ."
WARMUP, RUNS = 5, 50


def _same_run(a: Path, b: Path) -> bool:
    la = {e["step"]: e["loss"] for e in read_events(a, "step")}
    lb = {e["step"]: e["loss"] for e in read_events(b, "step")}
    if sorted(la) != sorted(lb) or not la:
        return False
    if not np.allclose([la[k] for k in sorted(la)], [lb[k] for k in sorted(lb)], rtol=1.3e-6, atol=1e-5):
        return False
    wa, wb = load_file(a / "model" / "model.safetensors"), load_file(b / "model" / "model.safetensors")
    return wa.keys() == wb.keys() and all(torch.allclose(wa[k], wb[k], rtol=1.3e-6, atol=1e-5) for k in wa)


def _int8_latency(onnx_dir: Path) -> tuple[float, list[int]]:
    """(median warm latency in ms of model_quantized.onnx on SENTENCE, the output's shape)."""
    tok = load_tokenizer(onnx_dir)
    enc = tok(SENTENCE, return_tensors="np")
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(str(onnx_dir / "model_quantized.onnx"), options, providers=["CPUExecutionProvider"])
    feed = {i.name: enc[i.name].astype(np.int64) for i in session.get_inputs()}
    out = session.run(None, feed)
    if not all(np.isfinite(o).all() for o in out):
        raise RuntimeError("non-finite outputs")
    for _ in range(WARMUP):
        session.run(None, feed)
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        session.run(None, feed)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), list(out[0].shape)


def bench_arch(arch: str, checkpoint: Path, data: Path, work: Path) -> dict[str, Any]:
    facts = model_facts(checkpoint)
    rec: dict[str, Any] = {"model_type": facts.model_type, "tokenizer": tf.FIXTURES.ARCHS[arch][2],
                           "token_type_ids": facts.token_type_ids, "positions": facts.positions,
                           "mask_token": facts.mask_token, "task": "token_classification"}
    spec = tf.family_spec(data, checkpoint, "ner", max_steps=8, save_steps=4, eval_steps=8)
    straight = write_run(work / arch / "straight", spec)
    try:
        rec["train"] = "pass" if train(straight) == 0 and read_events(straight, "step") else "fail"
    except Exception as e:  # noqa: BLE001 - a benchmark records failures
        rec["train"], rec["train_error"] = "fail", f"{type(e).__name__}: {e}"
    export = read_events(straight, "export")
    rec["export"] = "pass" if export else "fail"
    rec["onnx_max_abs_diff"] = export[0]["max_abs_diff"] if export else None
    rec["onnx_int8_max_abs_diff"] = export[0].get("quantized_max_abs_diff") if export else None
    split_spec = {**spec, "export": {"onnx": False}}
    split = write_run(work / arch / "split", split_spec)
    try:
        resumed = train(split, stop_after_steps=4) == 0 and train(split, resume=True) == 0
        rec["resume"] = "pass" if resumed and _same_run(straight, split) else "fail"
    except Exception as e:  # noqa: BLE001
        rec["resume"], rec["resume_error"] = "fail", f"{type(e).__name__}: {e}"
    try:
        rec["int8_warm_latency_ms"], rec["inference_output_shape"] = _int8_latency(straight / "onnx")
        rec["inference"] = "pass"
    except Exception as e:  # noqa: BLE001
        rec["inference"], rec["inference_error"] = "fail", f"{type(e).__name__}: {e}"
        rec["int8_warm_latency_ms"] = None
    refusal = task_refusal(facts, "mlm")
    if refusal:
        rec["mlm"], rec["mlm_refused"] = "refused", refusal
    else:
        mlm = write_run(work / arch / "mlm", tf.family_spec(data, checkpoint, "mlm"))
        try:
            ok = train(mlm) == 0 and bool(read_events(mlm, "export"))
        except Exception:  # noqa: BLE001
            traceback.print_exc()
            ok = False
        rec["mlm"] = "pass" if ok else "fail"
    return rec


def main() -> int:
    torch.set_num_threads(1)
    data = data_dir()
    checkpoints = tf.FIXTURES.ensure(data, tf.FIXTURES._tokenizers_module().cache_root(), runs=False)
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for arch in tf.ARCHS:
            started = time.perf_counter()
            results[arch] = bench_arch(arch, checkpoints / arch / "checkpoint", data, Path(tmp))
            results[arch]["seconds"] = round(time.perf_counter() - started, 1)
            print(arch, json.dumps(results[arch]), flush=True)
    doc = json.loads(OUT.read_text(encoding="utf-8")) if OUT.is_file() else {}
    doc["architectures"] = results
    doc["architectures_detail"] = {
        "what": "train (token classification, 8 steps on CoNLL-2003), resume (stopped at step 4, resumed: same "
                "losses and weights), export (ONNX fp32 parity check held; onnx_max_abs_diff), inference (int8 graph "
                "through onnxruntime CPU, 1 thread; median warm latency of 50 runs), mlm (4 steps on WikiText-2 "
                "with export, or refused with the reason); bench/model_families.py",
        "models": "tiny random checkpoints (hidden 32, 2 layers) from test/fixtures/families/build.py",
        "torch": torch.__version__, "onnxruntime": ort.__version__,
        "load_average_1m": round(os.getloadavg()[0], 2), "python": platform.python_version(),
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    OUT.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    failed = [a for a, r in results.items() if "fail" in (r["train"], r["resume"], r["export"], r["inference"], r["mlm"])]
    print("failed:", failed or "none")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
