"""Benchmark helper for bench/inference.ts.

  python inference_models.py build OUT_DIR   MiniLM (L6/H384) with a fresh MLM head and a fresh
                                             9-label token-classification head, exported by export.py
                                             (with its export.json, as a run's export writes it), in
                                             <task>/onnx and, without the fused graph, <task>/onnx-unfused
  python inference_models.py serve OUT_DIR   PyTorch worker (SDPA attention, inference_mode; the
                                             speed setting PyTorch and transformers recommend): one JSON command per stdin line
                                             ({"op": "cold"|"warm", "task": "mlm"|"ner", "texts": [...], "n": N}),
                                             one JSON answer per stdout line (latencies in ms)
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import torch
import transformers
from transformers import AutoTokenizer

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "trainer"))
from bert_studio_trainer.export import export_onnx, write_export_metadata
from bert_studio_trainer.models import default_model_path

NER_LABELS = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC"]
CLASSES = {"mlm": "AutoModelForMaskedLM", "ner": "AutoModelForTokenClassification"}


def build(out: Path) -> None:
    base = str(default_model_path())
    for name, task in (("mlm", "mlm"), ("ner", "token_classification")):
        torch.manual_seed(0)
        kwargs = {"id2label": dict(enumerate(NER_LABELS)), "label2id": {v: i for i, v in enumerate(NER_LABELS)}} if name == "ner" else {}
        model = getattr(transformers, CLASSES[name]).from_pretrained(base, **kwargs)
        model.save_pretrained(out / name / "model", safe_serialization=True)
        AutoTokenizer.from_pretrained(base).save_pretrained(out / name / "model")
        # onnx/ as a run exports it (fused where it can be); onnx-unfused/ without the fused graph, to compare.
        for folder, fuse in (("onnx", True), ("onnx-unfused", False)):
            result = export_onnx(out / name / "model", out / name / folder, task, fuse=fuse)
            write_export_metadata(out / name / folder, result)  # export.json: the bench records its `fusion`
            print(json.dumps({f"{name}/{folder}": {k: v for k, v in result.items() if k != "files"}}), flush=True)


def serve(out: Path) -> None:
    models: dict[str, tuple[object, torch.nn.Module]] = {}

    def load(task: str) -> tuple[object, torch.nn.Module]:
        folder = str(out / task / "model")
        tok = AutoTokenizer.from_pretrained(folder)
        model = getattr(transformers, CLASSES[task]).from_pretrained(folder, attn_implementation="sdpa", use_safetensors=True).eval()
        return tok, model

    def answer(task: str, tok: object, model: torch.nn.Module, text: str) -> object:
        enc = tok(text, return_tensors="pt")  # type: ignore[operator]
        with torch.inference_mode():
            logits = model(**enc).logits[0]
        if task == "mlm":
            pos = int((enc["input_ids"][0] == tok.mask_token_id).nonzero()[0, 0])  # type: ignore[attr-defined]
            return logits[pos].softmax(-1).topk(5)
        return logits.softmax(-1).max(-1)

    for line in sys.stdin:
        cmd = json.loads(line)
        task, texts = cmd["task"], cmd["texts"]
        if cmd["op"] == "cold":
            t = time.perf_counter()
            tok, model = load(task)
            answer(task, tok, model, texts[0])
            models[task] = (tok, model)
            print(json.dumps({"ms": [(time.perf_counter() - t) * 1000]}), flush=True)
            continue
        tok, model = models.get(task) or load(task)
        models[task] = (tok, model)
        times = []
        for i in range(cmd["n"]):
            t = time.perf_counter()
            answer(task, tok, model, texts[i % len(texts)])
            times.append((time.perf_counter() - t) * 1000)
        print(json.dumps({"ms": times, "threads": torch.get_num_threads(), "torch": torch.__version__}), flush=True)


if __name__ == "__main__":
    (build if sys.argv[1] == "build" else serve)(Path(sys.argv[2]))
