"""The benchmark scripts still run against today's package: each imports what it uses and
answers ``--help`` (the figures in docs/scaling.md come from them, so a rename in the
package must not leave one broken)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = sorted((Path(__file__).resolve().parents[1] / "benchmarks").glob("*.py"))


def test_there_are_benchmarks() -> None:
    named = {"grade_speed", "cpu_per_submission", "cluster_speed", "long_range"}
    assert named <= {p.stem for p in BENCHMARKS}


@pytest.mark.parametrize("script", BENCHMARKS, ids=lambda p: p.stem)
def test_a_benchmark_imports_and_answers_help(script: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(script), "--help"], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "usage:" in done.stdout
