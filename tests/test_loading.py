"""How notebooks are read: only definitions are kept, and bad files get clear errors."""

from __future__ import annotations

from pathlib import Path

import nbformat
import numpy as np
import pytest

from autograder.instructor.expected import make_plan
from autograder.instructor.notebook import NotebookError, definitions, read_notebook
from autograder.instructor.reference import reference
from autograder.student.paths import release_notebook
from autograder.student.specs import SPECS


def _nb(*sources: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])


def test_only_definitions_are_kept() -> None:
    nb = _nb(
        "import numpy as np\nEPS = 1e-8\nsig = lambda z: 1 / (1 + np.exp(-z))",
        "np.allclose = lambda *a, **k: True\nlosses = train()\nprint('hi')",
        "def f(x):\n    return x + EPS\n%timeit f(1)",
        "def broken(:\n    pass",
    )
    kept = "\n".join(definitions(nb))
    assert "import numpy as np" in kept and "EPS = 1e-8" in kept and "sig = lambda" in kept
    assert "def f(x)" in kept
    assert "np.allclose" not in kept, "a monkeypatch must never reach the grader"
    assert "train()" not in kept and "print('hi')" not in kept and "timeit" not in kept
    assert "broken" not in kept, "a cell that does not parse is skipped"


@pytest.mark.parametrize(
    "bomb",
    ["x = " + "-" * 6000 + "1", "x = y" + "[0]" * 3000, "x = y" + ".a" * 3000],
    ids=["minus", "subscript", "attribute"],
)
def test_a_cell_too_deep_for_the_parser_is_skipped_like_a_syntax_error(bomb: str) -> None:
    """Python's parser raises MemoryError or RecursionError, not SyntaxError, on an
    expression nested a few thousand deep (9 KB of text). Such a cell is skipped; the
    functions of the other cells are kept. Raised, it would stop the trusted verify,
    and plain ``nbgrader autograde`` would keep the kernel's claims."""
    import ast
    import sys

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(1000)  # Python's default, the grader's (a test runner may raise it)
    try:
        with pytest.raises((MemoryError, RecursionError)):
            ast.parse(bomb)
        own = "def rnn_cell_forward(xt, a_prev, parameters):\n    return xt"
        assert definitions(_nb(own, bomb + "\ndef softmax(x):\n    return x", own)) == [own, own]
    finally:
        sys.setrecursionlimit(limit)


def test_a_deep_expression_that_parses_is_walked_without_recursion() -> None:
    """nbgrader raises Python's recursion limit to 3,000, so a sum 1,500 deep parses in the
    grader; deciding whether it runs code must not overflow the stack there."""
    import sys

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(3000)
    try:
        deep = "x = 1" + "+1" * 1500
        calls = "y = " + "f(" * 400 + ")" * 400
        assert definitions(_nb(deep, calls)) == [deep]
    finally:
        sys.setrecursionlimit(limit)


@pytest.mark.parametrize(
    "cell",
    [
        {"cell_type": "code", "metadata": {}, "source": None, "outputs": []},
        {"cell_type": "code", "metadata": {}, "source": 5, "outputs": []},
        {"cell_type": "code", "metadata": {}, "source": {}, "outputs": []},
        {"cell_type": "code", "metadata": {}, "outputs": []},
        {"metadata": {}, "source": "def softmax(x):\n    return x", "outputs": []},
    ],
    ids=["source null", "source a number", "source an object", "no source", "no cell type"],
)
def test_a_cell_nbformat_only_warns_about_is_skipped(tmp_path: Path, cell: dict) -> None:
    """nbformat reads these with a warning; the verify must not trip on them either."""
    import json

    own = "def rnn_cell_forward(xt, a_prev, parameters):\n    return xt"
    nb = json.loads(nbformat.writes(_nb(own)))
    nb["cells"].insert(0, {**cell, "id": "odd"})
    path = tmp_path / "odd.ipynb"
    path.write_text(json.dumps(nb), encoding="utf-8")
    assert definitions(read_notebook(path)) == [own]


def test_a_long_cell_is_parsed_apart_so_the_parsers_memory_stays_capped() -> None:
    """Python's parser needs memory growing with the square of a dotted name's length; a
    student's cell over ``PARSED_APART_CHARS`` is parsed in a child under a memory cap.
    One of 60 kB (a gigabyte to parse) is skipped, the grader's process barely grows; a
    long cell of ordinary statements is still read in full."""
    import subprocess
    import sys

    code = """
import resource
import nbformat
from autograder.instructor.notebook import definitions

def nb(*sources):
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])

own = "def rnn_cell_forward(xt, a_prev, parameters):\\n    return xt"
definitions(nb(own))
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
assert definitions(nb(own, "import " + "a." * 30_000 + "b", own)) == [own, own]
grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
assert grown < 100 * 1024, f"the grader's process grew by {grown} kB"
assert definitions(nb("x = 1;" * 50_000)) == ["x = 1"] * 50_000
"""
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]


def test_each_definition_is_its_source_as_the_standard_library_cuts_it() -> None:
    """``definitions`` cuts each statement out of its cell itself (the standard library's
    ``ast.get_source_segment`` splits the whole cell again for every statement): it gives
    the same text, on semicolons, Windows line ends and text that is not ASCII."""
    import ast

    cells = [
        "import os; import sys\nX = 1; Y = 2",
        "def f():\r\n    return 1\r\nZ = 'é'",
        "def g(x):\n    s = '''\né\n'''\n    return s\nV = [\n  1,\n  2]; U = 4",
    ]
    for source in cells:
        text = "\n".join(source.splitlines())
        expected = [ast.get_source_segment(text, node, padded=True) for node in ast.parse(text).body]
        assert definitions(_nb(source)) == expected


def test_invalid_json_says_what_is_wrong(tmp_path: Path) -> None:
    path = tmp_path / "sub.ipynb"
    path.write_text('{"cells": [', encoding="utf-8")
    with pytest.raises(NotebookError, match="not valid notebook JSON"):
        read_notebook(path)


def test_missing_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(NotebookError, match="no such file"):
        read_notebook(tmp_path / "absent.ipynb")


@pytest.mark.parametrize("name", list(SPECS))
def test_hidden_inputs_are_never_the_public_ones(name: str) -> None:
    """A student who memorised the self-check answers learns nothing about the grade."""
    spec = SPECS[name]
    ref = reference(spec.assignment)
    _, public = make_plan(spec, False, ref)
    _, hidden = make_plan(spec, True, ref)
    float_inputs = [a for a in public.values() if a.dtype.kind == "f" and a.size > 1]
    for h in hidden.values():
        for p in float_inputs:
            assert not (h.shape == p.shape and np.allclose(h, p)), f"{name}: a hidden input is public"


def test_only_the_releases_cells_are_kept_in_the_parse_cache() -> None:
    """The cache of parsed cells lives as long as a grading worker: what a class hands in
    must never grow it. Only the course's own cells, the same in every notebook, are kept."""
    from autograder.instructor.notebook import _cached_definitions, release_cells

    release = read_notebook(release_notebook("assign_5a"))
    course_cell = next(c.source for c in release.cells if c.cell_type == "code" and "import" in c.source)
    own = "def rnn_cell_forward(xt, a_prev, parameters):\n    return xt + 0.5  # not the course's"
    before = _cached_definitions.cache_info().currsize
    assert definitions(_nb(own)) == [own.split("  #")[0]]
    assert _cached_definitions.cache_info().currsize == before, "a student's cell was kept"
    first = definitions(_nb(course_cell))
    hits = _cached_definitions.cache_info().hits
    assert definitions(_nb(course_cell)) == first
    assert _cached_definitions.cache_info().hits == hits + 1, "the course's cell was parsed again"
    assert _cached_definitions.cache_info().currsize <= len(release_cells())
