"""Hand-edited specs and hostile data files get a clear answer from the worker (issue 14): exit 2, one
error event naming the field (and file:line) with the fix, status `failed`, no traceback on the
terminal; reading is streamed and bounded; defaults come from defaults.json; threads follow the free
cores; a collapsed classifier is flagged; a stop while the worker starts ends it as `stopped`."""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from conftest import make_spec, read_events, read_status, subset_spec, write_run
from test_fault_tolerance import make_tiny_model, run_spec, train_in_process, write_sst2_subset

from bert_studio_trainer.data.readers import (
    MAX_CONLL_SENTENCE_TOKENS,
    MAX_LINE_BYTES,
    iter_lines,
    read_conll,
    read_glue_tsv,
    read_squad,
)
from bert_studio_trainer.engine import runtime
from bert_studio_trainer.engine.checkpoint import complete_checkpoints
from bert_studio_trainer.engine.loop import Trainer
from bert_studio_trainer.models import default_model_path
from bert_studio_trainer.pretrain.corpus import read_corpus
from bert_studio_trainer.spec import (
    TASK_TRAINING_DEFAULTS,
    TRAINING_DEFAULTS,
    SpecError,
    load_spec,
    parse_spec,
)
from bert_studio_trainer.tasks import build_task
from bert_studio_trainer.tasks.base import collapsed_class
from bert_studio_trainer.train import train


def worker(run_dir: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "BERT_STUDIO_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    return subprocess.run([sys.executable, "-m", "bert_studio_trainer", "train", "--run-dir", str(run_dir), *extra],
                          env=env, capture_output=True, text=True, timeout=300)


def assert_clean_failure(proc: subprocess.CompletedProcess[str], run: Path, field: str, code: int = 2) -> str:
    """The worker's answer to bad input: exit code, one error event naming the field, failed, no traceback."""
    assert proc.returncode == code, (proc.returncode, proc.stderr[-2000:])
    assert "Traceback" not in proc.stderr + proc.stdout, proc.stderr[-3000:]
    errors = read_events(run, "error")
    assert len(errors) == 1 and errors[0].get("field") == field, errors
    assert read_status(run)["state"] == "failed"
    return errors[0]["message"]


@pytest.fixture(scope="module")
def sst2(tmp_path_factory: pytest.TempPathFactory, data: Path) -> tuple[Path, Path]:
    return write_sst2_subset(data, tmp_path_factory.mktemp("sst2"), n_train=64, n_eval=16)


# ---- 1. one source of defaults --------------------------------------------------------------------
def test_defaults_are_the_values_of_defaults_json() -> None:
    shipped = json.loads(resources.files("bert_studio_trainer").joinpath("defaults.json").read_text(encoding="utf-8"))
    assert TRAINING_DEFAULTS == shipped["common"]
    assert TASK_TRAINING_DEFAULTS == shipped["tasks"]


@pytest.mark.parametrize("task, expected", [
    ("question_answering", {"max_seq_length": 384, "doc_stride": 128, "per_device_train_batch_size": 16,
                            "metric_for_best_model": "f1"}),
    ("mlm", {"learning_rate": 1e-4, "max_seq_length": 128, "mlm_probability": 0.15}),
    ("mlm_nsp", {"learning_rate": 1e-4, "nsp": True}),
    ("sequence_classification", {"learning_rate": 5e-5, "threshold": 0.5, "metric_for_best_model": "accuracy"}),
])
def test_a_spec_without_training_gets_the_task_defaults(data: Path, task: str, expected: dict[str, Any]) -> None:
    train_file = {"question_answering": data / "squad_v1.1" / "dev-v1.1.json", "mlm": data / "wikitext-2" / "valid.txt",
                  "mlm_nsp": data / "wikitext-2" / "valid.txt"}.get(task, data / "sst2" / "dev.tsv")
    spec = make_spec(task, train_file)
    del spec["training"]
    parsed = parse_spec(spec)
    assert {k: parsed.t(k) for k in expected} == expected
    build_task(parsed).validate_spec(parsed)  # QA's own check accepts its default doc_stride


def test_multi_label_keeps_micro_f1_as_its_default(data: Path, tmp_path: Path) -> None:
    f = tmp_path / "ml.jsonl"
    f.write_text('{"text": "a", "label": ["x"]}\n')
    spec = make_spec("sequence_classification", f)
    spec["data"]["multi_label"] = True
    assert parse_spec(spec).t("metric_for_best_model") == "micro_f1"


# ---- 2. every training field, type and range --------------------------------------------------------
BAD_TRAINING = [
    ("num_train_epochs", 0), ("num_train_epochs", -1), ("num_train_epochs", math.nan), ("num_train_epochs", math.inf),
    ("num_train_epochs", "3"), ("per_device_train_batch_size", 0), ("per_device_train_batch_size", 1.5),
    ("per_device_eval_batch_size", -4), ("gradient_accumulation_steps", 0),
    ("learning_rate", 0), ("learning_rate", -5e-5), ("learning_rate", math.nan), ("learning_rate", math.inf),
    ("learning_rate", "fast"), ("learning_rate", True), ("learning_rate", None),
    ("warmup_ratio", 5), ("warmup_ratio", -0.1), ("weight_decay", -0.01), ("max_grad_norm", -1), ("learning_rate", 2),
    ("max_seq_length", 0), ("max_seq_length", 4), ("max_seq_length", 100000), ("max_seq_length", math.inf),
    ("max_steps", 0), ("max_steps", -5), ("eval_steps", 0), ("save_steps", math.inf), ("logging_steps", 0),
    ("seed", -1), ("seed", 2**40), ("threshold", 0), ("threshold", 1), ("threshold", 1.5),
    ("early_stopping_patience", 0), ("bf16", 1), ("metric_for_best_model", 3),
]


@pytest.mark.parametrize("name, value", BAD_TRAINING, ids=[f"{n}={v!r}" for n, v in BAD_TRAINING])
def test_bad_training_values_name_the_field_and_the_fix(sst2: tuple[Path, Path], name: str, value: Any) -> None:
    spec = make_spec("sequence_classification", sst2[0], max_seq_length=32)
    spec["training"][name] = value
    with pytest.raises(SpecError) as e:
        parse_spec(spec)
    assert e.value.field == f"training.{name}", (e.value.field, str(e.value))
    message = str(e.value)
    assert message.startswith(f"training.{name}") and "must" in message, message
    # The fix: the rule it breaks and, for numbers, a value that works.
    if name not in ("bf16", "metric_for_best_model", "max_steps"):
        assert "default" in message or "at most" in message or "without quotes" in message, message


@pytest.mark.parametrize("task, train_file, field, training", [
    ("mlm", "wikitext-2/valid.txt", "training.mlm_probability", {"mlm_probability": 0}),
    ("mlm", "wikitext-2/valid.txt", "training.mlm_probability", {"mlm_probability": 1}),
    ("mlm_nsp", "wikitext-2/valid.txt", "training.short_seq_prob", {"short_seq_prob": 1.5}),
    ("question_answering", "squad_v1.1/dev-v1.1.json", "training.doc_stride", {"max_seq_length": 128}),  # stride 128
    ("question_answering", "squad_v1.1/dev-v1.1.json", "training.doc_stride", {"doc_stride": 0}),
])
def test_task_fields_are_checked(data: Path, task: str, train_file: str, field: str, training: dict[str, Any]) -> None:
    with pytest.raises(SpecError) as e:
        parse_spec(make_spec(task, data / train_file, **training))
    assert e.value.field == field, str(e.value)


def test_max_seq_length_is_checked_against_the_model(tmp_path: Path, sst2: tuple[Path, Path]) -> None:
    spec = make_spec("sequence_classification", sst2[0], max_seq_length=513)
    with pytest.raises(SpecError, match=r"must be at most 512, the positions of the model.*not 513; set it to 512 or less") as e:
        parse_spec(spec)  # the default model: max_position_embeddings 512
    assert e.value.field == "training.max_seq_length"
    # A RoBERTa-type model has max_position_embeddings 514, two of them taken by the padding offset.
    roberta = tmp_path / "roberta"
    roberta.mkdir()
    (roberta / "config.json").write_text(json.dumps({"model_type": "roberta", "max_position_embeddings": 514}))
    (roberta / "model.safetensors").write_bytes(b"")
    spec["model"]["name_or_path"] = str(roberta)
    with pytest.raises(SpecError, match=r"at most 512, .*max_position_embeddings 514 minus 2 for roberta"):
        parse_spec(spec)
    spec["training"]["max_seq_length"] = 512
    assert parse_spec(spec).t("max_seq_length") == 512


@pytest.mark.parametrize("section, value", [
    ("training", []), ("training", None), ("training", "lr=1"), ("export", []), ("model", []), ("data", "train.tsv"),
])
def test_sections_must_be_objects(sst2: tuple[Path, Path], section: str, value: Any) -> None:
    spec = make_spec("sequence_classification", sst2[0])
    spec[section] = value
    with pytest.raises(SpecError, match=rf"^{section} must be an object") as e:
        parse_spec(spec)
    assert e.value.field == section


def test_worker_refuses_a_list_for_training_before_loading_torch(tmp_path: Path, sst2: tuple[Path, Path]) -> None:
    """`"training": []` once ran a whole default training."""
    spec = make_spec("sequence_classification", sst2[0])
    spec["training"] = []
    run = write_run(tmp_path, spec)
    message = assert_clean_failure(worker(run), run, "training")
    assert "write {} for the defaults" in message
    assert not (run / "checkpoints").exists()


def test_worker_refuses_a_max_seq_length_over_the_model(tmp_path: Path, sst2: tuple[Path, Path]) -> None:
    """--max-seq-length 100000 once trained until the first long example, then died in a tensor op."""
    run = write_run(tmp_path, make_spec("sequence_classification", sst2[0], max_seq_length=100000))
    assert "must be at most 512" in assert_clean_failure(worker(run), run, "training.max_seq_length")


def test_nan_written_by_hand_in_spec_json_is_refused(tmp_path: Path, sst2: tuple[Path, Path]) -> None:
    run = write_run(tmp_path, make_spec("sequence_classification", sst2[0]))
    text = (run / "spec.json").read_text().replace('"training": {}', '"training": {"learning_rate": NaN}')
    (run / "spec.json").write_text(text)
    with pytest.raises(SpecError, match="training.learning_rate must be a number, not NaN"):
        load_spec(run / "spec.json")


@pytest.mark.parametrize("content, match", [
    (b'{"task": ', r"spec\.json:1: not valid JSON"),
    (b'{"task": "caf\xe9"}', "not UTF-8"),
])
def test_unreadable_spec_json(tmp_path: Path, content: bytes, match: str) -> None:
    (tmp_path / "spec.json").write_bytes(content)
    assert train(tmp_path) == 2
    (error,) = read_events(tmp_path, "error")
    assert error["message"] and read_status(tmp_path)["state"] == "failed"
    with pytest.raises(SpecError, match=match):
        load_spec(tmp_path / "spec.json")


def test_an_unexpected_failure_keeps_its_traceback_in_worker_log_only(tmp_path: Path, sst2: tuple[Path, Path]) -> None:
    """Weights that are not safetensors fail inside transformers: exit 1, one line on stderr, the
    traceback in the run's worker.log."""
    model = tmp_path / "broken-model"
    shutil.copytree(default_model_path(), model, ignore=shutil.ignore_patterns("*.safetensors", "onnx", "*.bin"))
    (model / "model.safetensors").write_bytes(b"\x00" * 64)
    spec = make_spec("sequence_classification", sst2[0], max_seq_length=32, max_steps=1)
    spec["model"]["name_or_path"] = str(model)
    run = write_run(tmp_path / "run", spec)
    proc = worker(run)
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr + proc.stdout
    (error,) = read_events(run, "error")
    assert "worker.log" in error["message"] and read_status(run)["state"] == "failed"
    assert "Traceback (most recent call last)" in (run / "worker.log").read_text()


def test_a_quoted_number_is_refused_with_the_fix(sst2: tuple[Path, Path]) -> None:
    with pytest.raises(SpecError, match='learning_rate must be a number, not "1e-4"; write it without quotes: 1e-4'):
        parse_spec(make_spec("sequence_classification", sst2[0], learning_rate="1e-4"))


def test_unknown_fields_suggest_the_closest_known_one(sst2: tuple[Path, Path]) -> None:
    spec = make_spec("sequence_classification", sst2[0], learning_rte=1e-4)
    with pytest.raises(SpecError, match="Unknown field training.learning_rte; did you mean training.learning_rate?"):
        parse_spec(spec)


def test_unknown_fields_name_the_trainer_field_or_the_task_it_belongs_to(sst2: tuple[Path, Path]) -> None:
    with pytest.raises(SpecError, match="Unknown field training.epochs; did you mean training.num_train_epochs?"):
        parse_spec(make_spec("sequence_classification", sst2[0], epochs=3))
    with pytest.raises(SpecError, match="doc_stride applies to question_answering only: remove it") as e:
        parse_spec(make_spec("sequence_classification", sst2[0], doc_stride=64))
    assert e.value.field == "training.doc_stride"
    spec = make_spec("sequence_classification", sst2[0])
    spec["export"] = {"format": "onnx"}
    with pytest.raises(SpecError, match="Unknown field export.format; remove it, or use one of: onnx, quantize"):
        parse_spec(spec)


# ---- 3. data files ------------------------------------------------------------------------------
def test_a_folder_or_device_as_data_names_the_field(tmp_path: Path, sst2: tuple[Path, Path]) -> None:
    spec = make_spec("sequence_classification", tmp_path)
    with pytest.raises(SpecError, match="is a folder; give the data file inside it") as e:
        parse_spec(spec)
    assert e.value.field == "data.train"
    spec = make_spec("sequence_classification", sst2[0], "/dev/zero")
    with pytest.raises(SpecError, match="not a regular file") as e:
        parse_spec(spec)
    assert e.value.field == "data.validation"
    # A pretraining corpus may be a folder of text files.
    (tmp_path / "a.txt").write_text("One sentence here.\n")
    assert parse_spec(make_spec("mlm", tmp_path)).data.train == tmp_path


def write_binary(path: Path) -> Path:
    path.write_bytes(bytes(range(256)) * 64)
    return path


@pytest.mark.parametrize("name, content, match", [
    ("train.tsv", None, r"train\.tsv:1: NUL byte at column 1: this is a binary file"),
    ("train.jsonl", b'{"text": "ok", "label": "1"}\n' * 65 + b'{"text": "caf\xe9", "label": "0"}\n',
     r"train\.jsonl:66: byte 0xe9 at column 14 is not UTF-8; re-save the file as UTF-8 \(e\.g\. from Latin-1: iconv"),
    ("train.tsv", "sentence\tlabel\nhello\t1\n".encode("utf-16"), r"train\.tsv is UTF-16 text; re-save it as UTF-8"),
    ("train.tsv", b"sentence\tlabel\n" + b"\x89PNG\x01\x02\x03\x04\x05\x06\x07\x08\x0b\x0e\x0f\x10\x11\xff\n",
     r"train\.tsv:2: byte 0x89 at column 1 is not text: this looks like a binary file"),
])
def test_binary_and_foreign_encodings_name_file_and_line(tmp_path: Path, name: str, content: bytes | None,
                                                         match: str) -> None:
    path = tmp_path / name
    write_binary(path) if content is None else path.write_bytes(content)
    run = write_run(tmp_path / "run", make_spec("sequence_classification", path, max_seq_length=32))
    assert train_in_process(run) == 2
    (error,) = read_events(run, "error")
    assert error["field"] == "data.train", error
    assert re.search(match, error["message"]), error["message"]
    assert read_status(run)["state"] == "failed"


@pytest.mark.parametrize("task, lines, field, match", [
    ("sequence_classification", ['{"text": "fine", "label": "1"}', '{"text": null, "label": "0"}'], "data.text",
     r"train\.jsonl:2: text must be a string, not null"),
    ("sequence_classification", ['{"text": "a", "label": "1"}'] * 1500 + ['{"label": "0"}'], "data.text",
     r"train\.jsonl:1501: record has no field 'text'"),
    ("token_classification", ['{"tokens": "EU rejects", "tags": ["B-ORG", "O"]}'], "data.tokens",
     r"train\.jsonl:1: tokens must be a list of strings"),
])
def test_records_are_checked_at_their_line(tmp_path: Path, task: str, lines: list[str], field: str, match: str) -> None:
    path = tmp_path / "train.jsonl"
    path.write_text("\n".join(lines) + "\n")
    run = write_run(tmp_path / "run", make_spec(task, path, max_seq_length=32))
    assert train_in_process(run) == 2
    (error,) = read_events(run, "error")
    assert error["field"] == field and re.search(match, error["message"]), error


def test_a_binary_validation_file_names_its_field(tmp_path: Path, sst2: tuple[Path, Path]) -> None:
    bad = write_binary(tmp_path / "dev.tsv")
    run = write_run(tmp_path / "run", make_spec("sequence_classification", sst2[0], bad, max_seq_length=32))
    assert train_in_process(run) == 2
    (error,) = read_events(run, "error")
    assert error["field"] == "data.validation" and error["message"].startswith(f"{bad}:1: NUL byte"), error


def test_over_long_lines_are_refused_at_their_line(tmp_path: Path) -> None:
    path = tmp_path / "corpus.txt"
    with path.open("wb") as f:
        f.write(b"First line.\nSecond line.\n")
        f.write(b"word " * (MAX_LINE_BYTES // 5 + 10) + b"\n")
        f.write(b"Never read.\n")
    with pytest.raises(SpecError, match=r"corpus\.txt:3: the line is longer than 4 MiB.*split it into shorter lines"):
        read_corpus(path)
    # A line of exactly the limit is read.
    ok = tmp_path / "ok.txt"
    ok.write_bytes(b"a" * MAX_LINE_BYTES + b"\r\nb\n")
    assert [(n, len(line)) for n, line in iter_lines(ok)] == [(1, MAX_LINE_BYTES), (2, 1)]


def test_a_50_mb_line_stays_within_bounded_memory(tmp_path: Path) -> None:
    """One 50 MB line once grew the worker to 6.4 GB. Now it stops at that line with the worker's
    peak memory that of a worker that read nothing (torch and the tokenizer loaded)."""
    huge = tmp_path / "huge.txt"
    with huge.open("wb") as f:
        f.write(b"A first document. It has two sentences.\n\n")
        chunk = b"lorem ipsum dolor sit amet " * 40_000
        for _ in range(50_000_000 // len(chunk)):
            f.write(chunk)
        f.write(b"\n")
    spec = make_spec("mlm", huge, max_seq_length=32, max_steps=1)
    run = write_run(tmp_path / "run", spec)
    env = {**os.environ, "BERT_STUDIO_NUM_THREADS": "1"}
    # The worker is started by a small launcher process, not by pytest itself: on Linux a process's
    # peak RSS (ru_maxrss) includes its parent's at the fork, and pytest holds about a gigabyte of
    # models by the time this test runs in the full suite.
    launcher = ("import json, os, subprocess, sys\n"
                "p = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)\n"
                "_, status, usage = os.wait4(p.pid, 0)\n"
                "print(json.dumps({'code': os.waitstatus_to_exitcode(status), 'maxrss_kb': usage.ru_maxrss}))")
    proc = subprocess.run([sys.executable, "-c", launcher, sys.executable, "-m", "bert_studio_trainer", "train",
                           "--run-dir", str(run)], env=env, capture_output=True, text=True, check=False)
    stderr = proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["code"] == 2, stderr[-2000:]
    assert "Traceback" not in stderr
    (error,) = read_events(run, "error")
    assert error["field"] == "data.train" and f"{huge}:3: the line is longer than 4 MiB" in error["message"], error
    peak_mb = result["maxrss_kb"] / 1024  # KiB on Linux
    assert peak_mb < 1000, f"peak RSS {peak_mb:.0f} MB"  # about 400 MB here; 6.4 GB before


def test_conll_without_blank_lines_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "train.conll"
    path.write_text("-DOCSTART- O\n\n" + "word O\n" * (MAX_CONLL_SENTENCE_TOKENS + 5))
    with pytest.raises(SpecError, match=rf"train\.conll:3: the sentence starting here runs past "
                                        rf"{MAX_CONLL_SENTENCE_TOKENS} tokens.*put a blank line after each sentence"):
        read_conll(path, {})


def test_bare_cr_and_crlf_lines_are_lines(tmp_path: Path) -> None:
    path = tmp_path / "mixed.tsv"
    path.write_bytes(b"sentence\tlabel\r\ngood film\t1\rbad film\t0\nok film\t1")
    rows = read_glue_tsv(path, {})
    assert [(r["text"], r["label"], r["source"]["line"]) for r in rows] == [
        ("good film", "1", 2), ("bad film", "0", 3), ("ok film", "1", 4)]


def test_squad_json_errors_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "squad.json"
    path.write_bytes(b'{"data": [\n {"title": "caf\xe9"}\n]}\n')
    with pytest.raises(SpecError, match=r"squad\.json:2: byte 0xe9 at column 16 is not UTF-8"):
        read_squad(path)
    path.write_text('{"data": [{"title": "x", "paragraphs": [{"context": "c"}]}]}')
    with pytest.raises(SpecError, match="not SQuAD v1.1"):
        read_squad(path)


def test_conll_columns_must_be_indexes(tmp_path: Path, data: Path) -> None:
    spec = make_spec("token_classification", data / "conll2003" / "valid.txt", max_seq_length=32)
    spec["data"]["columns"] = {"tags": "ner"}
    run = write_run(tmp_path, spec)
    assert train_in_process(run) == 2
    (error,) = read_events(run, "error")
    assert error["field"] == "data.columns.tags" and "column index" in error["message"], error


# ---- 4. threads ---------------------------------------------------------------------------------
def test_threads_follow_the_free_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    cores = runtime.usable_cores()
    assert cores == len(os.sched_getaffinity(0))
    monkeypatch.setenv("BERT_STUDIO_NUM_THREADS", "3")
    assert runtime.choose_threads()[0] == 3
    monkeypatch.setenv("BERT_STUDIO_NUM_THREADS", "many")
    threads, note = runtime.choose_threads()
    assert "ignored" in note and 1 <= threads <= cores
    monkeypatch.delenv("BERT_STUDIO_NUM_THREADS")
    monkeypatch.setattr(os, "getloadavg", lambda: (cores + 4.0, 0.0, 0.0))  # every core busy
    threads, note = runtime.choose_threads()
    assert threads == 1 and f"{cores} usable cores" in note and "BERT_STUDIO_NUM_THREADS" in note
    monkeypatch.setattr(os, "getloadavg", lambda: (0.0, 0.0, 0.0))  # an idle machine
    assert runtime.choose_threads()[0] == min(cores, runtime._TORCH_DEFAULT_THREADS)
    assert runtime.choose_threads(processes=cores * 2)[0] == 1


# ---- 5. a collapsed classifier is flagged -------------------------------------------------------
def test_collapse_rule() -> None:
    assert collapsed_class({"O": 995, "B-PER": 5}, {"O": 830, "B-PER": 170}) == ("O", 0.995, 0.83)
    assert collapsed_class({"O": 900, "B-PER": 100}, {"O": 830, "B-PER": 170}) is None  # it predicts entities
    assert collapsed_class({"pos": 100}, {"pos": 95, "neg": 5}) is None  # the data itself is one class
    assert collapsed_class({}, {}) is None


def test_ner_evaluation_flags_all_o_predictions(data: Path) -> None:
    """The evaluation on CoNLL validation sentences: predicting the gold tags is no collapse, predicting
    `O` everywhere is one."""
    import torch
    from transformers import AutoTokenizer

    rows = read_conll(data / "conll2003" / "valid.txt", {})[:80]
    spec = parse_spec(make_spec("token_classification", data / "conll2003" / "valid.txt", max_seq_length=128))
    task = build_task(spec)
    task.fit_labels(rows)
    feats = task.build_train_features(rows, AutoTokenizer.from_pretrained(default_model_path()))

    def logits_for(all_outside: bool):  # type: ignore[no-untyped-def]
        def run(features):  # type: ignore[no-untyped-def]
            batch = task.collate(features)
            target = torch.zeros_like(batch["labels"]) if all_outside else batch["labels"].clamp(min=0)
            yield list(range(len(features))), batch, {
                "logits": torch.nn.functional.one_hot(target, len(task.labels)).float(), "loss": torch.tensor(0.0)}
        return run

    gold = task.evaluate(None, rows, feats, logits_for(False))  # type: ignore[arg-type]
    assert collapsed_class(gold.pred_counts, gold.gold_counts) is None
    outside = task.evaluate(None, rows, feats, logits_for(True))  # type: ignore[arg-type]
    label, pred_share, gold_share = collapsed_class(outside.pred_counts, outside.gold_counts)  # type: ignore[misc]
    assert label == "O" and pred_share == 1.0 and gold_share < 0.9


@pytest.mark.slow
def test_a_ner_run_that_collapses_to_o_gets_a_warning(tmp_path: Path, data: Path) -> None:
    """25 steps at the default learning rate on CoNLL-2003: the model tags every word O (checked here
    with transformers directly on the saved model), and the run says so with a hint."""
    import torch
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    spec = subset_spec("token_classification", data / "conll2003" / "train.txt", data / "conll2003" / "valid.txt",
                       320, 100, max_steps=25, per_device_train_batch_size=16, max_seq_length=32, eval_steps=25,
                       save_steps=1000, logging_steps=5)
    run = write_run(tmp_path, spec)
    assert train_in_process(run) == 0
    warnings = [e["message"] for e in read_events(run, "log") if e["level"] == "warning"]
    rows = read_conll(data / "conll2003" / "valid.txt", {})[:100]
    tok = AutoTokenizer.from_pretrained(run / "model")
    model = AutoModelForTokenClassification.from_pretrained(run / "model").eval()
    predicted = []
    with torch.inference_mode():
        for r in rows:
            enc = tok(r["tokens"], is_split_into_words=True, truncation=True, max_length=32, return_tensors="pt")
            ids = model(**enc).logits[0].argmax(-1).tolist()
            seen = set()
            for pos, w in enumerate(enc.word_ids()):
                if w is not None and w not in seen:
                    seen.add(w)
                    predicted.append(model.config.id2label[ids[pos]])
    assert set(predicted) == {"O"}, "this run did not collapse: the test needs a run that does"
    assert any("of the predictions are 'O'" in w and "collapsed to one class" in w and "learning_rate" in w
               for w in warnings), warnings


# ---- 6. a stop while the worker starts ------------------------------------------------------------
def test_sigterm_while_starting_ends_as_stopped(tmp_path: Path, sst2: tuple[Path, Path]) -> None:
    """SIGTERM as soon as the worker says `starting` (it is importing torch then): it ends promptly as
    stopped, exit 0, no traceback, nothing trained."""
    run = write_run(tmp_path, make_spec("sequence_classification", sst2[0], max_seq_length=32, max_steps=5))
    env = {**os.environ, "BERT_STUDIO_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "bert_studio_trainer", "train", "--run-dir", str(run)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while not (run / "status.json").exists() and time.time() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err[-2000:]
    assert "Traceback" not in out + err
    status = read_status(run)
    assert status["state"] == "stopped" and status["step"] == 0
    assert [e["state"] for e in read_events(run, "status")] == ["starting", "stopped"]
    assert not read_events(run, "step") and not (run / "checkpoints").exists()


@pytest.mark.parametrize("how", ["sigterm", "stop_file"])
def test_a_stop_while_resuming_keeps_the_checkpoint(tmp_path: Path, data: Path, monkeypatch: pytest.MonkeyPatch,
                                                    how: str) -> None:
    """A stop during a resumed run's start-up (here while it reads and tokenizes its data) ends it as
    stopped at once; status.json still points at the checkpoint, which a later resume continues from."""
    model = make_tiny_model(tmp_path / "tiny")
    train_file, _ = write_sst2_subset(data, tmp_path / "data", n_train=32, n_eval=8)
    run = write_run(tmp_path / "run", run_spec(model, train_file, None, max_steps=6, save_steps=100))
    assert train_in_process(run, stop_after_steps=3) == 0
    assert read_status(run)["last_checkpoint"] == "checkpoints/step-3"

    prepare = Trainer.prepare

    def stop_then_prepare(self: Trainer) -> None:
        if how == "sigterm":
            os.kill(os.getpid(), signal.SIGTERM)
        else:
            (run / "stop").write_text("")
        prepare(self)

    monkeypatch.setattr(Trainer, "prepare", stop_then_prepare)
    n_steps = len(read_events(run, "step"))
    assert train_in_process(run, resume=True) == 0
    status = read_status(run)
    assert status["state"] == "stopped", status
    assert status["step"] == 3 and status["last_checkpoint"] == "checkpoints/step-3"
    assert len(read_events(run, "step")) == n_steps, "no step ran"
    assert [c.name for c in complete_checkpoints(run)] == ["step-3"]
    assert "resume continues from checkpoints/step-3" in read_events(run, "status")[-1]["message"]
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # the handler is gone after the run

    monkeypatch.setattr(Trainer, "prepare", prepare)
    (run / "stop").unlink(missing_ok=True)
    assert train_in_process(run, resume=True) == 0
    assert read_status(run)["state"] == "completed"
    assert [e["step"] for e in read_events(run, "step")][n_steps:][0] == 4
