"""A test whose set-up is missing skips on a developer machine and fails under CI (conftest.need_setup)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def _run(tmp_path: Path, env_extra: dict[str, str]) -> subprocess.CompletedProcess[str]:
    case = tmp_path / "test_missing.py"
    case.write_text("from conftest import need_setup\n\n"
                    "def test_needs_model():\n    need_setup(False, 'a model nobody built')\n")
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "BERT_STUDIO_REQUIRE_SETUP")}
    env.update(env_extra)
    env["PYTHONPATH"] = os.pathsep.join([str(TESTS), env.get("PYTHONPATH", "")])
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(case)],
                          cwd=tmp_path, env=env, capture_output=True, text=True)


def test_missing_setup_skips_locally(tmp_path: Path) -> None:
    r = _run(tmp_path, {})
    assert r.returncode == 0, r.stdout + r.stderr
    assert "1 skipped" in r.stdout


def test_missing_setup_fails_under_ci(tmp_path: Path) -> None:
    for extra in ({"CI": "true"}, {"BERT_STUDIO_REQUIRE_SETUP": "1"}):
        r = _run(tmp_path, extra)
        assert r.returncode == 1, r.stdout + r.stderr
        assert "1 failed" in r.stdout and "Set-up missing under CI: a model nobody built" in r.stdout
