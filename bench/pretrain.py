"""Pretraining throughput: BERT Studio's masked-position-only heads vs the Hugging Face recipe.

    .venv/bin/python bench/pretrain.py                       # CPU, the default MiniLM (L6/H384)
    .venv/bin/python bench/pretrain.py --device cuda --preset base --batch-size 64

Both sides train the same model (same initial weights), on the same [CLS] A [SEP] B [SEP] pairs from
WikiText-2, for the same steps, with the same optimizer, attention (SDPA) and autocast (bf16 on
CUDA). They differ only where the recipes differ:
- baseline: transformers' BertForPreTraining + DataCollatorForLanguageModeling (vocabulary
  logits at every position, the MLM loss over them with -100 labels);
- ours: SparseBertForPreTraining (hidden states gathered at masked positions before the vocabulary
  projection) + our masking collate.
Runs alternate (ABBA, after a warm-up round of each) so that a machine whose load changes, like a
shared CPU, slows both sides alike. tokens/s counts real (non-padding) tokens.
Writes bench/results/pretrain-<device>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path
from typing import Any

import flops  # bench/flops.py
import numpy as np
import torch
from bert_studio_trainer.data.collate import pad_batch
from bert_studio_trainer.models import default_model_path
from bert_studio_trainer.pretrain.corpus import read_corpus
from bert_studio_trainer.pretrain.features import build_sequences, tokenize_documents
from bert_studio_trainer.pretrain.masking import IGNORE, MaskingConfig, mask_batch
from bert_studio_trainer.pretrain.model import SparseBertForPreTraining
from bert_studio_trainer.pretrain.presets import preset_config

REPO = Path(__file__).resolve().parents[1]


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="default", help="HF folder whose config (and tokenizer) to use")
    p.add_argument("--preset", default=None, help="a random model of this preset shape instead (tiny..large)")
    p.add_argument("--model-config", default=None, help="a config.json for a random model instead")
    p.add_argument("--device", default="cpu")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--seq-len", type=int, default=128)
    p.add_argument("--steps", type=int, default=3, help="steps per side per round")
    p.add_argument("--rounds", type=int, default=4, help="timed ABBA rounds after one warm-up round")
    p.add_argument("--data", default=os.environ.get("BERT_STUDIO_DATA", str(REPO.parent / "shared" / "data")))
    p.add_argument("--out", default=None)
    return p.parse_args()


def build_models(args: argparse.Namespace, tokenizer: Any) -> tuple[torch.nn.Module, torch.nn.Module]:
    from transformers import AutoConfig, BertForPreTraining

    torch.manual_seed(0)
    if args.preset:
        config = preset_config(args.preset, len(tokenizer), tokenizer.pad_token_id)
    elif args.model_config:
        config = AutoConfig.from_pretrained(args.model_config)
    else:
        config = None
    if config is None:
        ours = SparseBertForPreTraining.from_pretrained(args.model_path, attn_implementation="sdpa")
    else:
        config._attn_implementation = "sdpa"
        ours = SparseBertForPreTraining(config)
    base = BertForPreTraining(ours.config)
    base.load_state_dict(ours.state_dict())
    return ours.to(args.device), base.to(args.device)


def main() -> None:
    args = parse_args()
    from transformers import AutoTokenizer, DataCollatorForLanguageModeling

    args.model_path = str(default_model_path()) if args.model == "default" else args.model
    tokenizer = AutoTokenizer.from_pretrained(args.model_path)
    docs = read_corpus(Path(args.data) / "wikitext-2" / "valid.txt")
    feats = build_sequences(tokenize_documents(docs, tokenizer), tokenizer, True, args.seq_len, 0.1, 0)
    feats = [{k: f[k] for k in ("input_ids", "token_type_ids", "next_sentence_label")} for f in feats]
    device = torch.device(args.device)
    ours, base = build_models(args, tokenizer)
    cuda = device.type == "cuda"
    amp = torch.autocast("cuda", dtype=torch.bfloat16) if cuda else torch.autocast("cpu", enabled=False)
    opts = {m: torch.optim.AdamW(m.parameters(), lr=1e-4, fused=cuda) for m in (ours, base)}
    hf_collate = DataCollatorForLanguageModeling(tokenizer, mlm_probability=0.15, pad_to_multiple_of=8)
    cfg = MaskingConfig.from_tokenizer(tokenizer)
    rng = np.random.default_rng(0)
    cursor = {"ours": 0, "baseline": 0}

    def our_collate(batch: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        ids, labels = mask_batch((f["input_ids"] for f in batch), cfg, rng)
        batch = [{**f, "input_ids": i, "labels": lab} for f, i, lab in zip(batch, ids, labels, strict=True)]
        return pad_batch(batch, {"input_ids": tokenizer.pad_token_id, "labels": IGNORE, "token_type_ids": 0,
                                 "next_sentence_label": 0})

    sides = {"ours": (ours, our_collate), "baseline": (base, hf_collate)}

    def run(name: str, steps: int) -> tuple[float, int]:
        model, collate = sides[name]
        tokens = 0
        if cuda:
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        for _ in range(steps):
            start = cursor[name] % (len(feats) - args.batch_size)
            cursor[name] += args.batch_size
            chunk = feats[start:start + args.batch_size]  # the same sequences on both sides, in turn
            tokens += sum(len(f["input_ids"]) for f in chunk)
            batch = {k: v.to(device, non_blocking=True) for k, v in collate(chunk).items()}
            with amp:
                loss = model(**batch).loss
            loss.backward()
            opts[model].step()
            opts[model].zero_grad(set_to_none=True)
        if cuda:
            torch.cuda.synchronize()
        return time.perf_counter() - t0, tokens

    run("ours", args.steps)
    run("baseline", args.steps)
    totals = {"ours": [0.0, 0], "baseline": [0.0, 0]}
    for r in range(args.rounds):
        order = ("ours", "baseline") if r % 2 == 0 else ("baseline", "ours")
        for name in order:
            secs, toks = run(name, args.steps)
            totals[name][0] += secs
            totals[name][1] += toks
            print(f"round {r} {name}: {toks / secs:.0f} tokens/s", flush=True)
    figures = {name: {"tokens_per_second": t / s, "seconds": s, "tokens": t, "steps": args.steps * args.rounds}
               for name, (s, t) in totals.items()}
    ratio = figures["ours"]["tokens_per_second"] / figures["baseline"]["tokens_per_second"]
    # MFU: the same model FLOPs per real token on both sides (bench/flops.py).
    mean_len = totals["ours"][1] / (args.steps * args.rounds * args.batch_size)
    per_token = flops.train_flops_per_token(ours, mean_len)
    peaks = flops.peak(device.type)
    ref = flops.reference_peak(peaks, cuda)
    for f in figures.values():
        f["mfu"] = flops.mfu(f["tokens_per_second"], per_token, ref)
    machine = {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
               "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(), "torch": torch.__version__,
               "load_average": os.getloadavg()}
    if cuda:
        machine["gpu"] = torch.cuda.get_device_name(device)
    c = ours.config
    result = {
        "benchmark": "pretrain", "device": device.type,
        "model": {"source": args.preset or args.model_config or args.model, "layers": c.num_hidden_layers,
                  "hidden": c.hidden_size, "vocab": c.vocab_size},
        "batch_size": args.batch_size, "seq_len": args.seq_len, "bf16": cuda,
        "ours": figures["ours"], "baseline": figures["baseline"], "ratio": ratio, "machine": machine,
        "mfu_basis": {"mean_real_tokens_per_sequence": mean_len, "train_flops_per_real_token": per_token,
                      "peaks_flops": peaks, "peak_used": ref, "method": "bench/flops.py"},
    }
    out = Path(args.out) if args.out else REPO / "bench" / "results" / f"pretrain-{device.type}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({"ours": round(figures["ours"]["tokens_per_second"]),
                      "baseline": round(figures["baseline"]["tokens_per_second"]), "ratio": round(ratio, 2)}))


if __name__ == "__main__":
    main()
