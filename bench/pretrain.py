"""Pretraining throughput: BERT Studio's worker vs the Hugging Face recipe under the Trainer, alternated.

    .venv/bin/python bench/pretrain.py                                  # CPU, the default MiniLM (L6/H384)
    .venv/bin/python bench/pretrain.py --device cuda --preset base --batch-size 64 --steps 40

MLM + NSP on the same [CLS] A [SEP] B [SEP] pairs of WikiText-2 (BERT's create_pretraining_data
rules, built once per side outside the timed region), the same model shape and tokenizer, batch,
sequence length, learning rate, steps, threads, autocast and compile setting:
- ours: the real worker (`bert_studio_trainer.train.train` on a spec.json, the function that
  `python -m bert_studio_trainer train RUN_DIR` runs), task `mlm_nsp`, its own collate and sparse
  masked-position heads; timed from its `running` status to its last step event;
- baseline: transformers' `BertForPreTraining` + `DataCollatorForLanguageModeling(mlm_probability=0.15,
  pad_to_multiple_of=8 on a GPU, none on a CPU, as the worker pads)` under the `Trainer` at its speed settings (SDPA attention, fused AdamW,
  length grouping, bf16 exactly where ours uses it, `torch.compile` on both sides or neither);
  timed by the Trainer's own `train_runtime`.
Each run is its own subprocess, in the order ours, theirs, ours, theirs, ... (>= 5 rounds: the ratio
is the median of the pairs, every pair listed). tokens/s counts real (non-padding) tokens. Writes
bench/results/pretrain-<device>.json with both sides' settings in full and MFU (bench/flops.py).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import flops  # bench/flops.py
from child_runs import (  # bench/child_runs.py
    add_child_arguments,
    peak_memory_mb,
    run_child,
    serve_child,
    train_worker,
)

REPO = Path(__file__).resolve().parents[1]
MLM_PROBABILITY = 0.15
SHORT_SEQ_PROB = 0.1


def corpus_file(cfg: dict[str, Any]) -> Path:
    return Path(cfg["data"]) / "wikitext-2" / cfg["corpus"]


def model_folder(cfg: dict[str, Any], workdir: Path) -> Path:
    """The tokenizer (and, without a preset, the weights) both sides start from; with a preset, a random
    model of that shape saved once, so both sides build the same architecture."""
    from bert_studio_trainer.models import default_model_path

    base = default_model_path() if cfg["model"] == "default" else Path(cfg["model"])
    if not cfg["preset"]:
        return base
    import torch
    from bert_studio_trainer.pretrain.presets import preset_config
    from transformers import AutoTokenizer, BertForPreTraining

    tok = AutoTokenizer.from_pretrained(base)
    torch.manual_seed(0)
    folder = workdir / f"random-{cfg['preset']}"
    BertForPreTraining(preset_config(cfg["preset"], len(tok), tok.pad_token_id)).save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


def bf16_used(cfg: dict[str, Any]) -> bool:
    """What the worker's `bf16` setting means on this machine (the baseline then does the same)."""
    import torch
    from bert_studio_trainer.engine.runtime import resolve_autocast

    return resolve_autocast(cfg["bf16"], torch.device(cfg["device"])) is not None


def run_ours(cfg: dict[str, Any]) -> dict[str, Any]:
    spec = {
        "version": 1, "task": "mlm_nsp", "model": {"name_or_path": cfg["folder"]},
        "data": {"train": str(corpus_file(cfg))},
        "training": {"max_steps": cfg["steps"], "per_device_train_batch_size": cfg["batch_size"],
                     "max_seq_length": cfg["seq_len"], "learning_rate": cfg["lr"], "warmup_ratio": 0.01,
                     "weight_decay": 0.01, "seed": 42, "mlm_probability": MLM_PROBABILITY,
                     "short_seq_prob": SHORT_SEQ_PROB, "logging_steps": cfg["steps"], "eval_steps": 10**9,
                     "save_steps": 10**9, "save_total_limit": 1, "group_by_length": True,
                     "torch_compile": cfg["compile"], "bf16": cfg["bf16"]},
        "device": cfg["device"], "export": {"onnx": False},
    }
    _, seconds = train_worker(spec, "bench-pretrain-ours-")
    return {"train_seconds": seconds, "sequences": cfg["steps"] * cfg["batch_size"],
            "peak_memory_mb": peak_memory_mb(cfg["device"])}


def pad_multiple(cfg: dict[str, Any]) -> int | None:
    """The baseline collator's pad_to_multiple_of: 8 on a GPU (tensor cores), none on a CPU, as the
    worker pads (engine/loop.py)."""
    return 8 if cfg["device"] == "cuda" else None


def hf_settings(cfg: dict[str, Any]) -> dict[str, Any]:
    """The baseline's TrainingArguments: the Trainer's own recommendations for speed on the device."""
    return {
        "max_steps": cfg["steps"], "per_device_train_batch_size": cfg["batch_size"], "learning_rate": cfg["lr"],
        "warmup_steps": 0.01, "weight_decay": 0.01, "seed": 42, "bf16": cfg["bf16_used"],
        "use_cpu": cfg["device"] != "cuda", "train_sampling_strategy": "group_by_length",
        "optim": "adamw_torch_fused", "torch_compile": cfg["compile"], "report_to": "none",
        "save_strategy": "no", "eval_strategy": "no", "logging_steps": cfg["steps"], "disable_tqdm": True,
        "remove_unused_columns": False,
    }


def pair_features(cfg: dict[str, Any], tokenizer: Any) -> list[dict[str, Any]]:
    """The NSP pairs by the worker's own builder (the same rules both sides train on)."""
    from bert_studio_trainer.pretrain.corpus import read_corpus
    from bert_studio_trainer.pretrain.features import (
        build_sequences,
        tokenize_documents,
    )

    docs = read_corpus(corpus_file(cfg))
    feats = build_sequences(tokenize_documents(docs, tokenizer), tokenizer, True, cfg["seq_len"], SHORT_SEQ_PROB, 42)
    return [{"input_ids": list(f["input_ids"]), "token_type_ids": list(f["token_type_ids"]),
             "next_sentence_label": int(f["next_sentence_label"])} for f in feats]


def run_theirs(cfg: dict[str, Any]) -> dict[str, Any]:
    import torch
    from transformers import (
        AutoTokenizer,
        BertForPreTraining,
        DataCollatorForLanguageModeling,
        Trainer,
        TrainingArguments,
    )

    tok = AutoTokenizer.from_pretrained(cfg["folder"])
    feats = pair_features(cfg, tok)

    class DS(torch.utils.data.Dataset):
        def __len__(self) -> int:
            return len(feats)

        def __getitem__(self, i: int) -> dict[str, Any]:
            return feats[i]

    model = BertForPreTraining.from_pretrained(cfg["folder"], attn_implementation="sdpa")
    args = TrainingArguments(**hf_settings(cfg), output_dir=tempfile.mkdtemp(prefix="bench-pretrain-hf-"))
    collator = DataCollatorForLanguageModeling(tok, mlm_probability=MLM_PROBABILITY, pad_to_multiple_of=pad_multiple(cfg))
    trainer = Trainer(model=model, args=args, train_dataset=DS(), data_collator=collator)
    out = trainer.train()
    return {"train_seconds": out.metrics["train_runtime"], "sequences": cfg["steps"] * cfg["batch_size"],
            "peak_memory_mb": peak_memory_mb(cfg["device"])}


def basis(cfg: dict[str, Any]) -> tuple[float, float, dict[str, Any]]:
    """(mean real tokens per sequence, model FLOPs per real token, the model's shape)."""
    from transformers import AutoTokenizer, BertForPreTraining

    tok = AutoTokenizer.from_pretrained(cfg["folder"])
    feats = pair_features(cfg, tok)
    mean_len = statistics.fmean(len(f["input_ids"]) for f in feats)
    model = BertForPreTraining.from_pretrained(cfg["folder"])
    c = model.config
    shape = {"layers": c.num_hidden_layers, "hidden": c.hidden_size, "heads": c.num_attention_heads, "vocab": c.vocab_size,
             "parameters": sum(p.numel() for p in model.parameters())}
    return mean_len, flops.train_flops_per_token(model, mean_len), shape


def child(which: str, cfg: dict[str, Any]) -> dict[str, Any]:
    result = run_child(__file__, which, cfg)
    result["sequences_per_second"] = result["sequences"] / result["train_seconds"]
    return result


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="default", help="the model folder to continue from (and its tokenizer)")
    p.add_argument("--preset", default=None, help="a random model of this preset shape instead (tiny..large)")
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--seq-len", type=int, default=128)
    p.add_argument("--steps", type=int, default=30, help="optimizer steps per run")
    p.add_argument("--rounds", type=int, default=5, help="pairs of runs, alternated: ours, theirs, ours, ...")
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--corpus", default="valid.txt", help="the WikiText-2 file (valid.txt, train.txt)")
    p.add_argument("--compile", action="store_true", help="torch.compile on both sides (default: neither)")
    p.add_argument("--bf16", default="auto", choices=["auto", "true", "false"],
                   help="bf16 autocast: the worker's setting; the baseline does what it resolves to")
    p.add_argument("--threads", type=int, default=None, help="torch threads in each run (default: torch's)")
    p.add_argument("--data", default=os.environ.get("BERT_STUDIO_DATA", str(REPO.parent / "shared" / "data")))
    p.add_argument("--out", type=Path, default=None)
    add_child_arguments(p)
    args = p.parse_args()
    if serve_child(args, run_ours, run_theirs):
        return
    if args.threads:
        os.environ["BERT_STUDIO_NUM_THREADS"] = str(args.threads)
    cfg: dict[str, Any] = {"model": args.model, "preset": args.preset, "device": args.device, "steps": args.steps,
                           "batch_size": args.batch_size, "seq_len": args.seq_len, "lr": args.lr, "data": args.data,
                           "corpus": args.corpus, "compile": args.compile, "threads": args.threads,
                           "bf16": {"auto": "auto", "true": True, "false": False}[args.bf16]}
    cfg["folder"] = str(model_folder(cfg, Path(tempfile.mkdtemp(prefix="bench-pretrain-"))))
    cfg["bf16_used"] = bf16_used(cfg)
    runs: dict[str, list[dict[str, Any]]] = {"ours": [], "hf_trainer": []}
    for r in range(args.rounds):
        for which, key in (("ours", "ours"), ("theirs", "hf_trainer")):
            res = child(which, cfg)
            runs[key].append(res)
            print(f"round {r + 1} {key}: {res['sequences_per_second']:.2f} sequences/s, peak {res['peak_memory_mb']:.0f} MB",
                  file=sys.stderr)

    mean_len, per_token, shape = basis(cfg)
    peaks = flops.peak(args.device)
    ref = flops.reference_peak(peaks, cfg["bf16_used"])

    def summary(rs: list[dict[str, Any]]) -> dict[str, Any]:
        seq = statistics.median(x["sequences_per_second"] for x in rs)
        return {"sequences_per_second_median": seq, "real_tokens_per_second": seq * mean_len,
                "mfu": flops.mfu(seq * mean_len, per_token, ref),
                "peak_memory_mb_median": statistics.median(x["peak_memory_mb"] for x in rs)}

    ours, theirs = summary(runs["ours"]), summary(runs["hf_trainer"])
    pairs = [{"ours": o["sequences_per_second"], "hf_trainer": t["sequences_per_second"],
              "ratio": o["sequences_per_second"] / t["sequences_per_second"]}
             for o, t in zip(runs["ours"], runs["hf_trainer"], strict=True)]
    result = {
        "benchmark": "pretrain", "task": "mlm_nsp (WikiText-2 " + args.corpus + ")", "device": args.device,
        "config": {k: v for k, v in cfg.items() if k != "folder"}, "model": {"source": args.preset or args.model, **shape},
        "machine": machine(args.device), "ours": ours, "hf_trainer": theirs,
        "settings": {
            "ours": {"runner": "the worker's train() on a spec.json (python -m bert_studio_trainer train)",
                     "heads": "vocabulary projection at masked positions only", "collate": "worker's masking collate",
                     "group_by_length": True, "attention": "sdpa", "optimizer": "fused AdamW",
                     "bf16": cfg["bf16"], "bf16_used": cfg["bf16_used"], "torch_compile": args.compile,
                     "evaluation_in_timed_region": False},
            "hf_trainer": hf_settings(cfg) | {"model": "BertForPreTraining", "attn_implementation": "sdpa",
                                              "collator": f"DataCollatorForLanguageModeling(mlm_probability=0.15, pad_to_multiple_of={pad_multiple(cfg)})",
                                              "data": "the worker's NSP pairs (pretrain/features.build_sequences)",
                                              "evaluation_in_timed_region": False},
        },
        "mfu_basis": {"mean_real_tokens_per_sequence": mean_len, "train_flops_per_real_token": per_token,
                      "peaks_flops": peaks, "peak_used": ref, "bf16": cfg["bf16_used"], "method": "bench/flops.py"},
        "pairs": pairs,
        "ratio": statistics.median(x["ratio"] for x in pairs),
        "speedup_of_medians": ours["sequences_per_second_median"] / theirs["sequences_per_second_median"],
        "memory_ratio": ours["peak_memory_mb_median"] / theirs["peak_memory_mb_median"],
        "runs": runs, "date": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    out = args.out or REPO / "bench" / "results" / f"pretrain-{args.device}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({"ours": round(ours["real_tokens_per_second"]), "hf_trainer": round(theirs["real_tokens_per_second"]),
                      "ratio": round(result["ratio"], 3)}))


def machine(device: str) -> dict[str, Any]:
    import platform

    import torch
    from bert_studio_trainer.engine.runtime import cpu_bf16_capability

    info = {"cpu": flops.cpu_model(), "cpu_bf16": cpu_bf16_capability(), "cores": os.cpu_count(),
            "torch": torch.__version__, "python": platform.python_version()}
    if device == "cuda":
        info["gpu"] = torch.cuda.get_device_name(0)
    try:
        info["load_average_at_start"] = os.getloadavg()
    except OSError:
        pass
    return info


if __name__ == "__main__":
    main()
