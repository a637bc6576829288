"""``grade --zip`` takes an LMS download: nbgrader's ``zip_collect`` unpacks it first.

The file names follow Canvas (``<student>_[late_]<id>_<id>_<file>``), as
configured in nbgrader_config.py; a resubmission renamed ``assign_5a-1.ipynb``
is graded like any other.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from autograder import submissions
from autograder.course import db_url, make_course

pytestmark = pytest.mark.xdist_group("grade_zip")

A = "assign_5a"


def test_zip_of_an_lms_download_is_collected_and_graded(tmp_path: Path) -> None:
    course = make_course(tmp_path / "course")
    archive = course / "downloaded" / A / "archive"
    archive.mkdir(parents=True)
    with zipfile.ZipFile(archive / "canvas_download.zip", "w") as z:
        z.writestr(f"alice_4321_98765_{A}.ipynb", nbformat.writes(submissions.completed(A)))
        z.writestr(f"bob_late_4322_98766_{A}-1.ipynb", nbformat.writes(submissions.release(A)))
    cmd = [sys.executable, "-m", "autograder", "grade", A, "--course", str(course), "--zip", "--workers", "2"]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=900, check=False)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    with Gradebook(db_url(course)) as gb:
        totals = {s: gb.find_submission(A, s).score for s in ("alice", "bob")}
    assert totals == {"alice": 50.0, "bob": 0.0}
    assert f"handed in as {A}-1.ipynb" in run.stdout
