"""The helpers that make student text inert (terminal, CSV) and the student id rule."""

from __future__ import annotations

import csv
import io
import subprocess
import sys

import pytest

from autograder.instructor.untrusted import MAX_ID_CHARS, csv_cell, id_problem, printable, student_option


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("plain text, accents é and 漢字", "plain text, accents é and 漢字"),
        ("two\nlines\r\n", "two\\nlines\\r\\n"),
        ("\x1b[2J\x1b]0;title\x07", "\\x1b[2J\\x1b]0;title\\x07"),
        ("c1 \x9b31m", "c1 \\x9b31m"),
        ("bidi \u202egnp.exe", "bidi \\u202egnp.exe"),
        ("separators \u2028\u2029 \x85", "separators \\u2028\\u2029 \\x85"),
        ("surrogate \udcff", "surrogate \\udcff"),
        ("tab\there", "tab\\there"),
    ],
)
def test_printable_is_one_inert_line(text: str, shown: str) -> None:
    assert printable(text) == shown
    assert printable(text).encode("utf-8")  # no lone surrogate left to break the terminal's encoding


def test_printable_cuts_long_text_and_says_so() -> None:
    assert printable("a" * 50, limit=10) == "a" * 10 + "... (40 more characters)"


@pytest.mark.parametrize(
    "value", ["=1+1", "@SUM(2+3)", "+1-2", "-rf", "--force", " =cmd|' /C calc'!A0", "\uff1dSUM(1)"]
)
def test_csv_cell_neutralises_formulas(value: str) -> None:
    cell = csv_cell(value)
    assert isinstance(cell, str) and cell.startswith("'")


@pytest.mark.parametrize("value", ["50", "0", "-1.5", "2e-3", "alice", "a=b", 12.5, None])
def test_csv_cell_leaves_numbers_and_text(value: object) -> None:
    assert csv_cell(value) == value


def test_csv_cell_leaves_no_control_character() -> None:
    buffer = io.StringIO()
    csv.writer(buffer).writerow([csv_cell("id\x1b[31m\nforged,row")])
    assert buffer.getvalue() == '"id\\x1b[31m\\nforged,row"\r\n'


@pytest.mark.parametrize(
    "student", ["alice", "=1+1", "@SUM(2+3)", "-rf", "--force", "a.b-c_d", "jo sé", "x" * 64]
)
def test_valid_ids(student: str) -> None:
    assert id_problem(student) is None


@pytest.mark.parametrize(
    ("student", "words"),
    [
        ("", "empty"),
        ("x" * (MAX_ID_CHARS + 1), "at most 64"),
        ("\U0001f600" * 60, "at most 64"),  # 240 bytes in UTF-8
        ("mallory\x1b[8m", "control"),
        ("two\nlines", "control"),
        ("..", "path"),
        (".", "path"),
        ("a/b", "path"),
        ("a*", "glob"),
        ("[ab]", "glob"),
        (" alice", "space"),
        ("alice ", "space"),
    ],
)
def test_invalid_ids_say_why(student: str, words: str) -> None:
    problem = id_problem(student)
    assert problem and words in problem


@pytest.mark.parametrize("student", ["-rf", "--force", "=1+1", "a b"])
def test_student_option_is_never_taken_as_an_option(student: str) -> None:
    """``--student=<id>``, quoted, reaches argparse as the id itself."""
    code = (
        "import argparse, shlex, sys; p = argparse.ArgumentParser(); p.add_argument('--student'); "
        "print(p.parse_args(shlex.split(sys.argv[1])).student)"
    )
    run = subprocess.run(
        [sys.executable, "-c", code, student_option(student)], capture_output=True, text=True, check=True
    )
    assert run.stdout.rstrip("\n") == student
