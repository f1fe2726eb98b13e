"""Readers that turn files into plain records (dicts in the snapshot's shape, DESIGN.md).

Every record carries `source: {"file", "line"}` (1-based line in the original file) so a
misclassified example can be opened where it came from.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from ..spec import SpecError

Record = dict[str, Any]

# Header names of GLUE-style tables, by role, in order of preference (SST-2, MRPC, RTE, QQP, MNLI...).
GLUE_COLUMNS: dict[str, tuple[str, ...]] = {
    "text": ("sentence", "#1 String", "sentence1", "question1", "question", "premise", "text"),
    "text_pair": ("#2 String", "sentence2", "question2", "hypothesis", "text_pair"),
    "label": ("label", "Quality", "gold_label"),
}


# Longest line read, in bytes: the host's `dataset validate` limit (DEFAULT_MAX_LINE_BYTES in
# src/core/datasets/lineReader.ts). Reading holds at most this plus one chunk, whatever the file.
MAX_LINE_BYTES = 4 * 1024 * 1024
_CHUNK_BYTES = 1024 * 1024
# SQuAD JSON is one document, parsed whole (about 10x its size in memory): bigger files are refused.
MAX_JSON_FILE_BYTES = 256 * 1024 * 1024
# A CoNLL "sentence" longer than this is a file without blank lines between sentences (and one
# giant example that would be truncated to max_seq_length anyway).
MAX_CONLL_SENTENCE_TOKENS = 10_000
_UTF8_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def open_data_file(path: Path) -> BinaryIO:
    """A data file opened for reading, or a SpecError saying why it cannot be (folder, device, rights)."""
    if path.is_dir():
        raise SpecError(f"{path} is a folder, not a data file; give the file inside it.", "data")
    if path.exists() and not path.is_file():
        raise SpecError(f"{path} is not a regular file (a device, pipe or socket); give a data file.", "data")
    try:
        return path.open("rb")
    except OSError as e:
        raise SpecError(f"{path} cannot be read ({e.strerror}); check that it exists and is readable.", "data") from e


def _raw_lines(f: BinaryIO, path: Path, max_line_bytes: int) -> Iterator[tuple[int, bytes]]:
    """(line number, bytes without the line ending); \n, \r\n and a bare \r end a line."""
    n = 0
    rest = b""
    while True:
        chunk = f.read(_CHUNK_BYTES)
        buf = rest + chunk if rest else chunk
        if not chunk:
            if buf:
                yield _checked(n + 1, buf.rstrip(b"\r\n"), path, max_line_bytes)
            return
        lines = buf.splitlines(keepends=True)
        # The last piece may go on in the next chunk (no ending yet, or a \r whose \n is still to come).
        rest = lines.pop() if not lines[-1].endswith(b"\n") else b""
        for line in lines:
            n += 1
            yield _checked(n, line.rstrip(b"\r\n"), path, max_line_bytes)
        if len(rest) > max_line_bytes:
            _checked(n + 1, rest, path, max_line_bytes)


def _checked(n: int, line: bytes, path: Path, max_line_bytes: int) -> tuple[int, bytes]:
    if len(line) > max_line_bytes:
        raise SpecError(f"{path}:{n}: the line is longer than {max_line_bytes >> 20} MiB, the most a line may hold; "
                        "split it into shorter lines (one sentence or paragraph per line in a text corpus, one "
                        "smaller record per line in JSONL).", "data")
    return n, line


def decode_line(line: bytes, path: Path, n: int) -> str:
    """UTF-8 text of one line, or a SpecError at file:line saying how to convert the file."""
    if n == 1:
        if line.startswith(_UTF16_BOMS):
            raise SpecError(f"{path} is UTF-16 text; re-save it as UTF-8 (e.g. iconv -f UTF-16 -t UTF-8 "
                            f"{path.name} > {path.stem}.utf8{path.suffix}).", "data")
        if line.startswith(_UTF8_BOM):
            line = line[len(_UTF8_BOM):]
    nul = line.find(b"\0")
    if nul >= 0:
        raise SpecError(f"{path}:{n}: NUL byte at column {nul + 1}: this is a binary file (or UTF-16 text), not "
                        "UTF-8 text; give a text file (.jsonl, .tsv, .txt), or re-save UTF-16 text as UTF-8.", "data")
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError as e:
        bad = line[e.start]
        controls = sum(1 for b in line[:4096] if b < 9 or 13 < b < 32)
        if controls > 8:
            raise SpecError(f"{path}:{n}: byte 0x{bad:02x} at column {e.start + 1} is not text: this looks like a "
                            "binary file; give a UTF-8 text file (.jsonl, .tsv, .txt).", "data") from e
        raise SpecError(f"{path}:{n}: byte 0x{bad:02x} at column {e.start + 1} is not UTF-8; re-save the file as "
                        f"UTF-8 (e.g. from Latin-1: iconv -f LATIN1 -t UTF-8 {path.name} > "
                        f"{path.stem}.utf8{path.suffix}).", "data") from e


def iter_lines(path: Path, max_line_bytes: int = MAX_LINE_BYTES) -> Iterator[tuple[int, str]]:
    """(1-based line number, text without the line ending) of a UTF-8 text file, streamed.

    The one line reader of the worker: every reader of a text format goes through it, so a folder,
    a binary file, a non-UTF-8 byte or an over-long line is a SpecError naming the file and line.
    """
    with open_data_file(path) as f:
        for n, raw in _raw_lines(f, path, max_line_bytes):
            yield n, decode_line(raw, path, n)


def iter_jsonl(path: Path) -> Iterator[tuple[int, Record]]:
    """(line number, object) for each non-blank line of a JSONL file, streamed.

    The one JSONL reader of the worker: the snapshots of every task (read_jsonl) and pretraining
    corpora (pretrain/corpus.py) go through it. Errors name the file and line.
    """
    for n, line in iter_lines(path):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as e:
            raise SpecError(f"{path}:{n}: not valid JSON ({e.msg}); each line must be one JSON object.", "data") from e
        except RecursionError as e:
            raise SpecError(f"{path}:{n}: JSON nested too deeply to read; each line must be one flat JSON object.",
                            "data") from e
        if not isinstance(rec, dict):
            raise SpecError(f"{path}:{n}: expected a JSON object, found {type(rec).__name__}; each line must be one "
                            "JSON object ({...}).", "data")
        yield n, rec


def read_jsonl(path: Path) -> list[Record]:
    records = []
    for n, rec in iter_jsonl(path):
        rec.setdefault("source", {"file": str(path), "line": n})
        records.append(rec)
    return records


def _tsv_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    # GLUE files must be read without CSV quoting: sentences contain unbalanced quotes.
    for n, line in iter_lines(path):
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
            raise SpecError(f"{path}:{n}: {len(cells)} columns, the header has {len(header)}; every row needs the "
                            "header's columns, separated by tabs.", "data")
        rec: Record = {"text": cells[i_text], "source": {"file": str(path), "line": n}}
        if i_pair is not None:
            rec["text_pair"] = cells[i_pair]
        if i_label is not None:
            rec["label"] = cells[i_label].strip()
        out.append(rec)
    return out


def read_conll(path: Path, columns: dict[str, str | int]) -> list[Record]:
    """CoNLL: one token per line, whitespace-separated columns, blank lines between sentences."""
    tok_col, tag_col = (_conll_column(columns, role, default) for role, default in (("tokens", 0), ("tags", -1)))
    out: list[Record] = []
    tokens: list[str] = []
    tags: list[str] = []
    start = 0

    def flush() -> None:
        if tokens:
            out.append({"tokens": list(tokens), "tags": list(tags), "source": {"file": str(path), "line": start}})
        tokens.clear()
        tags.clear()

    for n, line in iter_lines(path):
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
            raise SpecError(f"{path}:{n}: {len(cells)} columns, no column {max(tok_col, tag_col)} for the "
                            "token or tag; set data.columns.tokens and data.columns.tags to column indexes.",
                            "data.columns.tags") from e
        if not tokens:
            start = n
        if len(tokens) >= MAX_CONLL_SENTENCE_TOKENS:
            raise SpecError(f"{path}:{start}: the sentence starting here runs past {MAX_CONLL_SENTENCE_TOKENS} tokens "
                            f"(to line {n}); put a blank line after each sentence.", "data")
        tokens.append(tok)
        tags.append(tag)
    flush()
    return out


def _conll_column(columns: dict[str, str | int], role: str, default: int) -> int:
    col = columns.get(role, default)
    if not isinstance(col, int):
        raise SpecError(f"data.columns.{role} must be a column index for CoNLL files (0 is the first, -1 the last), "
                        f"not {col!r}.", f"data.columns.{role}")
    return col


def read_squad(path: Path) -> list[Record]:
    """SQuAD v1.1 JSON -> one record per question. JSON has no useful line numbers: line is 1."""
    with open_data_file(path) as f:
        size = os.fstat(f.fileno()).st_size
        if size > MAX_JSON_FILE_BYTES:
            raise SpecError(f"{path} is {size >> 20} MiB; a SQuAD JSON file is read whole, so at most "
                            f"{MAX_JSON_FILE_BYTES >> 20} MiB. Import it as a dataset (a JSONL snapshot, read line by "
                            "line) or split it.", "data")
        raw = f.read()
    if raw.startswith(_UTF8_BOM):
        raw = raw[len(_UTF8_BOM):]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        decode_line(raw[raw.rfind(b"\n", 0, e.start) + 1:e.start + 1], path, line)  # raises the file:line error
        raise
    try:
        data = json.loads(text)["data"]
    except json.JSONDecodeError as e:
        raise SpecError(f"{path}:{e.lineno}: not valid JSON ({e.msg}); a SQuAD file is one JSON object.", "data") from e
    except (KeyError, TypeError) as e:
        raise SpecError(f'{path} is not a SQuAD JSON file (no "data" list of articles).', "data") from e
    del raw, text
    out = []
    try:
        for article in data:
            for para in article["paragraphs"]:
                for qa in para["qas"]:
                    out.append({
                        "id": qa["id"], "title": article.get("title", ""), "context": para["context"],
                        "question": qa["question"], "answers": qa.get("answers", []),
                        "source": {"file": str(path), "line": 1, "id": qa["id"]},
                    })
    except (KeyError, TypeError, AttributeError) as e:
        raise SpecError(f"{path}: not SQuAD v1.1 ({type(e).__name__}: {e}); each article needs paragraphs, each "
                        "paragraph a context and qas, each question an id, question and answers.", "data") from e
    return out


def record_where(rec: Record, path: Path) -> str:
    """file:line of a record in the file the user edits (a snapshot's source, else the file read)."""
    source = rec.get("source") or {}
    return f"{source.get('file', path)}:{source.get('line', '?')}"


def is_text(value: Any) -> bool:
    return isinstance(value, str)


def is_text_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


# What a field must hold, for check_fields: (test, description for the message).
TEXT = (is_text, "a string")
TEXT_LIST = (is_text_list, "a list of strings")
OPTIONAL_TEXT = (lambda v: v is None or isinstance(v, str), "a string or null")


def check_fields(records: list[Record], fields: tuple[str, ...], path: Path,
                 types: dict[str, tuple[Callable[[Any], bool], str]] | None = None) -> None:
    """Every record has `fields`, and the fields in `types` hold what they must: a wrong record is a
    SpecError at its file:line, not a tokenizer's error at training time."""
    for rec in records:
        for f in fields:
            if f not in rec:
                raise SpecError(f"{record_where(rec, path)}: record has no field {f!r}; every example needs "
                                f"{', '.join(fields)}.", f"data.{f}")
        for f, (ok, what) in (types or {}).items():
            if f in rec and not ok(rec[f]):
                shown = json.dumps(rec[f], ensure_ascii=False)[:60]
                raise SpecError(f"{record_where(rec, path)}: {f} must be {what}, not {shown}.", f"data.{f}")
