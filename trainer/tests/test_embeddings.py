"""Embedding map (analysis/embeddings.py) on real tiny runs: one point per example with `evaluate`'s own
gold and predicted labels, PCA equal to scikit-learn's up to the sign, reproducible, cached in the run
folder until the model, the data or a setting changes, UMAP when installed, and one clear line for bad
input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, make_spec, write_run

from bert_studio_trainer.analysis.embeddings import (
    NO_ENTITY,
    cache_file,
    embedding_map,
    pca_2d,
    sentence_label,
    umap_2d,
    word_tags,
)
from bert_studio_trainer.spec import SpecError

N_DEV = 48


def _worker(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bert_studio_trainer", *args], capture_output=True, text=True,
                          cwd=REPO, env={"PYTHONPATH": str(REPO / "trainer"), "BERT_STUDIO_NUM_THREADS": "1",
                                         "PATH": "/usr/bin:/bin"}, timeout=600)


@pytest.fixture(scope="module")
def sst2_run(tmp_path_factory: pytest.TempPathFactory, data: Path) -> tuple[Path, Path]:
    """A small real SST-2 run (20 steps) whose validation file is the first N_DEV rows of SST-2 dev."""
    from bert_studio_trainer.train import train

    tmp = tmp_path_factory.mktemp("emb")
    dev = tmp / "dev-head.tsv"
    dev.write_text("".join((data / "sst2" / "dev.tsv").read_text(encoding="utf-8").splitlines(True)[: N_DEV + 1]),
                   encoding="utf-8")
    spec = make_spec("sequence_classification", data / "sst2" / "train.tsv", dev, max_steps=20,
                     per_device_train_batch_size=16, max_seq_length=48, learning_rate=1e-4, eval_steps=20,
                     save_steps=1000, logging_steps=10)
    spec["data"]["max_train_samples"] = 320
    run = write_run(tmp / "run", spec)
    assert train(run) == 0
    return run, dev


def test_pca_matches_scikit_learn_up_to_sign_and_fixes_the_sign() -> None:
    from sklearn.decomposition import PCA

    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 12)) @ rng.normal(size=(12, 12))
    xy, ratio = pca_2d(x)
    ref = PCA(n_components=2).fit(x)
    np.testing.assert_allclose(np.abs(xy), np.abs(ref.transform(x)), atol=1e-8)
    np.testing.assert_allclose(ratio, ref.explained_variance_ratio_, atol=1e-10)
    # The same cloud mirrored gives the same picture: each axis's sign is fixed by its largest loading.
    np.testing.assert_allclose(pca_2d(-x)[0], -xy, atol=1e-8)
    np.testing.assert_allclose(pca_2d(x)[0], xy, atol=0)
    # Points on a line: all the variance on the first axis.
    line = np.outer(np.arange(10.0), rng.normal(size=5))
    assert pca_2d(line)[1][0] == pytest.approx(1.0) and pca_2d(line)[1][1] == pytest.approx(0.0, abs=1e-12)
    assert pca_2d(x[:1])[0].shape == (1, 2)


def test_ner_sentence_labels() -> None:
    assert sentence_label(["B-PER", "I-PER", "O", "B-LOC", "O", "B-LOC"]) == "LOC"
    assert sentence_label(["B-ORG", "O", "B-PER"]) == "ORG"  # a tie: the first to occur
    assert sentence_label(["O", "O"]) == NO_ENTITY
    # The first sub-token of each word carries its tag; words past truncation are O.
    assert word_tags([None, 0, 0, 1, None], [0, 2, 1, 1, 0], ["O", "B-PER", "I-PER"], 3) == ["I-PER", "B-PER", "O"]


def test_umap_missing_names_the_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "umap", None)  # `import umap` raises ImportError
    with pytest.raises(SpecError, match=r"pip install umap-learn==\d") as e:
        umap_2d(np.zeros((10, 4)), 0)
    assert e.value.field == "method"


def test_map_points_agree_with_evaluate_and_the_file(sst2_run: tuple[Path, Path], tmp_path: Path) -> None:
    from bert_studio_trainer.evaluate import evaluate

    run, dev = sst2_run
    summary = embedding_map(run)
    assert summary["cached"] is False and summary["points"] == N_DEV == summary["examples"]
    report = json.loads(Path(summary["file"]).read_text(encoding="utf-8"))
    assert Path(summary["file"]) == cache_file(run, "validation", "pca", "mean")
    assert report["labels"] == ["0", "1"] and report["model"] == str(run / "model")
    pts = report["points"]
    assert sorted(p["index"] for p in pts) == list(range(N_DEV))
    xy = np.array([[p["x"], p["y"]] for p in pts])
    assert np.isfinite(xy).all() and xy.std(axis=0).min() > 0
    assert 0 < sum(report["explained_variance"]) <= 1
    evaluate(run, dev, tmp_path / "eval")
    preds = {r["index"]: r for r in map(json.loads, (tmp_path / "eval" / "predictions.jsonl").read_text().splitlines())}
    lines = dev.read_text(encoding="utf-8").splitlines()
    for p in pts:
        assert (p["gold"], p["pred"], p["correct"]) == (preds[p["index"]]["gold"], preds[p["index"]]["pred"], preds[p["index"]]["correct"])
        text, label = lines[p["source"]["line"] - 1].rsplit("\t", 1)
        assert label == p["gold"] and p["source"]["file"] == str(dev) and text.startswith(p["text"].rstrip("…"))
    accuracy = sum(p["correct"] for p in pts) / len(pts)
    assert summary["metrics"]["accuracy"] == pytest.approx(accuracy)


def test_cache_hit_reproducible_and_keyed(sst2_run: tuple[Path, Path]) -> None:
    run, dev = sst2_run
    first = embedding_map(run)
    out = Path(first["file"])
    before = out.read_bytes(), out.stat().st_mtime_ns
    again = embedding_map(run)
    assert again["cached"] is True and (out.read_bytes(), out.stat().st_mtime_ns) == before
    forced = embedding_map(run, force=True)
    assert forced["cached"] is False
    a = json.loads(before[0])["points"]
    b = json.loads(out.read_text(encoding="utf-8"))["points"]
    assert [(p["x"], p["y"]) for p in a] == [(p["x"], p["y"]) for p in b]  # same model, same data: same map
    # A sample of the split: the seed decides which examples, reproducibly; a new key is a new computation.
    s1 = embedding_map(run, max_examples=20, seed=1)
    idx1 = [p["index"] for p in json.loads(out.read_text(encoding="utf-8"))["points"]]
    assert s1["cached"] is False and s1["points"] == 20 and s1["examples"] == N_DEV
    assert idx1 == sorted(set(idx1))
    embedding_map(run, max_examples=20, seed=2)
    idx2 = [p["index"] for p in json.loads(out.read_text(encoding="utf-8"))["points"]]
    assert idx2 != idx1
    embedding_map(run, max_examples=20, seed=1)
    assert [p["index"] for p in json.loads(out.read_text(encoding="utf-8"))["points"]] == idx1
    # The data file changed: computed again.
    stamp = dev.stat()
    os.utime(dev, ns=(stamp.st_atime_ns, stamp.st_mtime_ns + 1_000_000_000))
    assert embedding_map(run, max_examples=20, seed=1)["cached"] is False
    # [CLS] pooling is its own file and another picture.
    cls = embedding_map(run, pooling="cls")
    assert Path(cls["file"]).name == "embeddings-validation-pca-cls.json"
    cls_pts = json.loads(Path(cls["file"]).read_text(encoding="utf-8"))["points"]
    assert [(p["x"], p["y"]) for p in cls_pts] != [(p["x"], p["y"]) for p in b]
    assert [p["pred"] for p in cls_pts] == [p["pred"] for p in b]  # the same predictions


def test_train_split_and_umap(sst2_run: tuple[Path, Path]) -> None:
    run, _ = sst2_run
    s = embedding_map(run, split="train", max_examples=40)
    assert s["examples"] == 320 and s["points"] == 40 and Path(s["file"]).name == "embeddings-train-pca-mean.json"
    try:
        import umap  # noqa: F401
    except ImportError:
        pytest.skip("umap-learn is not installed (optional)")
    u = embedding_map(run, method="umap")
    first = json.loads(Path(u["file"]).read_text(encoding="utf-8"))
    assert u["points"] == N_DEV and first["explained_variance"] is None
    embedding_map(run, method="umap", force=True)
    second = json.loads(Path(u["file"]).read_text(encoding="utf-8"))
    assert [(p["x"], p["y"]) for p in first["points"]] == [(p["x"], p["y"]) for p in second["points"]]


def test_bad_input_is_one_clear_line(sst2_run: tuple[Path, Path], tmp_path: Path) -> None:
    run, dev = sst2_run
    untrained = write_run(tmp_path / "untrained", make_spec("sequence_classification", dev, dev))
    proc = _worker("embeddings", "--model", str(untrained))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "no trained model yet" in proc.stderr and proc.stderr.startswith("error: ")
    for args, words in ((["--split", "test"], "use validation or train"), (["--method", "tsne"], "use pca"),
                        (["--pooling", "max"], "use mean"), (["--max-examples", "0"], "whole number")):
        proc = _worker("embeddings", "--model", str(run), *args)
        assert proc.returncode == 2 and words in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    spec = json.loads((run / "spec.json").read_text())
    spec["data"].pop("validation")
    no_val = tmp_path / "no-val"
    write_run(no_val, spec)
    (no_val / "model").symlink_to(run / "model")
    with pytest.raises(SpecError, match="use --split train"):
        embedding_map(no_val)
    with pytest.raises(SpecError, match="give a run folder"):
        embedding_map(tmp_path)  # no spec.json, no config.json
    # The command's summary line; the map computed in-process is the command's cache.
    embedding_map(run)
    proc = _worker("embeddings", "--model", str(run))
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1])["cached"] is True
    # A cache hit loads neither torch nor transformers (the spec's model checks would).
    probe = subprocess.run([sys.executable, "-c", "import sys; from pathlib import Path; "
                            "from bert_studio_trainer.analysis.embeddings import embedding_map; "
                            f"s = embedding_map(Path({str(run)!r})); "
                            "print(s['cached'], 'torch' in sys.modules, 'transformers' in sys.modules)"],
                           capture_output=True, text=True, env={"PYTHONPATH": str(REPO / "trainer"), "PATH": "/usr/bin:/bin"},
                           timeout=120)
    assert probe.stdout.split() == ["True", "False", "False"], probe.stderr


def test_ner_points_are_sentences(data: Path, tmp_path: Path) -> None:
    from bert_studio_trainer.train import train

    lines = (data / "conll2003" / "train.txt").read_text(encoding="utf-8").splitlines()[:300]
    conll = tmp_path / "train.txt"
    conll.write_text("\n".join(lines) + "\n", encoding="utf-8")
    run = write_run(tmp_path / "run", make_spec("token_classification", conll, conll, max_steps=4, save_steps=1000,
                                                eval_steps=1000, per_device_train_batch_size=8, max_seq_length=64))
    assert train(run) == 0
    s = embedding_map(run)
    report = json.loads(Path(s["file"]).read_text(encoding="utf-8"))
    assert report["task"] == "token_classification" and report["labels"][-1] == NO_ENTITY
    assert s["points"] == s["examples"] > 5
    for p in report["points"]:
        tags = []
        for row in lines[p["source"]["line"] - 1:]:
            if not row.strip() or row.startswith("-DOCSTART-"):
                break
            tags.append(row.split()[-1])
        assert p["gold"] == sentence_label(tags) and p["gold"] in report["labels"] and p["pred"] in report["labels"]
        assert p["text"].split(" ")[0] == lines[p["source"]["line"] - 1].split()[0]


def test_multi_label_points_are_label_sets(data: Path, tmp_path: Path) -> None:
    from test_multilabel import write_entity_type_sets

    from bert_studio_trainer.evaluate import evaluate
    from bert_studio_trainer.train import train

    train_file, eval_file = write_entity_type_sets(data, tmp_path / "data", 64, 32)
    spec = make_spec("sequence_classification", train_file, eval_file, max_steps=6, save_steps=1000, eval_steps=1000,
                     per_device_train_batch_size=16, max_seq_length=48, learning_rate=1e-3)
    spec["data"].update(multi_label=True, label_delimiter="|")
    run = write_run(tmp_path / "run", spec)
    assert train(run) == 0
    s = embedding_map(run)
    report = json.loads(Path(s["file"]).read_text(encoding="utf-8"))
    assert s["points"] == 32 and report["labels"][-1] == NO_ENTITY
    evaluate(run, eval_file, tmp_path / "eval")
    preds = {r["index"]: r for r in map(json.loads, (tmp_path / "eval" / "predictions.jsonl").read_text().splitlines())}
    lines = eval_file.read_text(encoding="utf-8").splitlines()
    name = lambda labels: ", ".join(sorted(labels)) or NO_ENTITY  # noqa: E731 - the label set as the map names it
    for p in report["points"]:
        gold = [t for t in lines[p["source"]["line"] - 1].rsplit("\t", 1)[1].split("|") if t]
        assert p["gold"] == name(gold) and p["gold"] in report["labels"] and p["pred"] in report["labels"]
        assert (p["pred"], p["correct"]) == (name(preds[p["index"]]["pred"]), preds[p["index"]]["correct"])
