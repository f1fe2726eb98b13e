"""Readers that turn files into plain records (dicts in the snapshot's shape, DESIGN.md).

Every record carries `source: {"file", "line"}` (1-based line in the original file) so a
misclassified example can be opened where it came from.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..spec import SpecError

Record = dict[str, Any]

# Header names of GLUE-style tables, by role, in order of preference (SST-2, MRPC, RTE, QQP, MNLI...).
GLUE_COLUMNS: dict[str, tuple[str, ...]] = {
    "text": ("sentence", "#1 String", "sentence1", "question1", "question", "premise", "text"),
    "text_pair": ("#2 String", "sentence2", "question2", "hypothesis", "text_pair"),
    "label": ("label", "Quality", "gold_label"),
}


def iter_jsonl(path: Path) -> Iterator[tuple[int, Record]]:
    """(line number, object) for each non-blank line of a JSONL file, streamed.

    The one JSONL reader of the worker: the snapshots of every task (read_jsonl) and pretraining
    corpora (pretrain/corpus.py) go through it. Errors name the file and line.
    """
    with path.open(encoding="utf-8-sig") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as e:
                raise SpecError(f"{path}:{n}: not valid JSON ({e.msg}); each line must be one JSON object.", "data") from e
            if not isinstance(rec, dict):
                raise SpecError(f"{path}:{n}: expected a JSON object, found {type(rec).__name__}.", "data")
            yield n, rec


def read_jsonl(path: Path) -> list[Record]:
    records = []
    for n, rec in iter_jsonl(path):
        rec.setdefault("source", {"file": str(path), "line": n})
        records.append(rec)
    return records


def _tsv_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    # GLUE files must be read without CSV quoting: sentences contain unbalanced quotes.
    with path.open(encoding="utf-8-sig") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\r\n")
            if line.strip():
                yield n, line.split("\t")


def _pick_column(header: list[str], role: str, columns: dict[str, str | int], required: bool) -> int | None:
    if role in columns:
        col = columns[role]
        if isinstance(col, int):
            if not 0 <= col < len(header):
                raise SpecError(f"data.columns.{role}: column index {col} is out of range ({len(header)} columns).", f"data.columns.{role}")
            return col
        if col not in header:
            raise SpecError(f"data.columns.{role}: no column {col!r} in the header ({', '.join(header)}).", f"data.columns.{role}")
        return header.index(col)
    for name in GLUE_COLUMNS[role]:
        if name in header:
            return header.index(name)
    if required:
        raise SpecError(f"No {role} column found in the header ({', '.join(header)}); set data.columns.{role}.", f"data.columns.{role}")
    return None


def read_glue_tsv(path: Path, columns: dict[str, str | int], require_label: bool = True) -> list[Record]:
    rows = _tsv_rows(path)
    try:
        _, header = next(rows)
    except StopIteration:
        return []
    header = [h.strip() for h in header]
    i_text = _pick_column(header, "text", columns, True)
    i_pair = _pick_column(header, "text_pair", columns, False)
    i_label = _pick_column(header, "label", columns, require_label)
    out = []
    for n, cells in rows:
        if len(cells) < len(header):
            raise SpecError(f"{path}:{n}: {len(cells)} columns, the header has {len(header)}.", "data")
        rec: Record = {"text": cells[i_text], "source": {"file": str(path), "line": n}}
        if i_pair is not None:
            rec["text_pair"] = cells[i_pair]
        if i_label is not None:
            rec["label"] = cells[i_label].strip()
        out.append(rec)
    return out


def read_conll(path: Path, columns: dict[str, str | int]) -> list[Record]:
    """CoNLL: one token per line, whitespace-separated columns, blank lines between sentences."""
    tok_col = int(columns.get("tokens", 0))
    tag_col = int(columns.get("tags", -1))
    out: list[Record] = []
    tokens: list[str] = []
    tags: list[str] = []
    start = 0

    def flush() -> None:
        if tokens:
            out.append({"tokens": list(tokens), "tags": list(tags), "source": {"file": str(path), "line": start}})
        tokens.clear()
        tags.clear()

    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            cells = line.split()
            if not cells:
                flush()
                continue
            if cells[0] == "-DOCSTART-":
                flush()
                continue
            try:
                tok, tag = cells[tok_col], cells[tag_col]
            except IndexError as e:
                raise SpecError(f"{path}:{n}: no column {tag_col} for the tag.", "data.columns.tags") from e
            if not tokens:
                start = n
            tokens.append(tok)
            tags.append(tag)
    flush()
    return out


def read_squad(path: Path) -> list[Record]:
    """SQuAD v1.1 JSON -> one record per question. JSON has no useful line numbers: line is 1."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))["data"]
    except (json.JSONDecodeError, KeyError, TypeError) as e:
        raise SpecError(f"{path} is not a SQuAD JSON file ({e}).", "data") from e
    out = []
    for article in data:
        for para in article["paragraphs"]:
            for qa in para["qas"]:
                out.append({
                    "id": qa["id"], "title": article.get("title", ""), "context": para["context"],
                    "question": qa["question"], "answers": qa.get("answers", []),
                    "source": {"file": str(path), "line": 1, "id": qa["id"]},
                })
    return out


def check_fields(records: list[Record], fields: tuple[str, ...], path: Path) -> None:
    for rec in records[:1000]:  # a sample is enough to catch a wrong file
        for f in fields:
            if f not in rec:
                line = rec.get("source", {}).get("line", "?")
                raise SpecError(f"{path}:{line}: record has no field {f!r}.", f"data.{f}")
