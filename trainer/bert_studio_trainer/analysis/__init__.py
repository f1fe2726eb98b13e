"""Analysis commands (label errors, dynamics, embeddings, attributions) and what their CLIs share."""

from __future__ import annotations

import sys
import traceback
from pathlib import Path

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


def report_failure(e: BaseException, log: Path) -> int:
    """An unexpected failure of an analysis command: one line for the user on stderr, the traceback in
    `log` (named in that line when it could be written). Call from inside the `except`."""
    where = ""
    try:
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(traceback.format_exc(), encoding="utf-8")
        where = f" (the traceback is in {log})"
    except OSError:
        pass
    print(f"error: {type(e).__name__}: {e}{where}", file=sys.stderr)
    return EXIT_FAILED
