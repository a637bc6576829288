"""The committed student release and self-check vectors are in sync with ``solutions/``.

``solutions/`` is the single source of truth: ``notebooks/`` is what nbgrader
generates from it and ``autograder/student/vectors/`` what ``python -m autograder vectors``
computes from it. Both are committed, so these tests regenerate them and fail on
any drift, and check that the release gives nothing away.
"""

from __future__ import annotations

import base64
import functools
import os
import re
import runpy
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import nbformat
import pytest
from fresh_vectors import GROUP, fresh_vectors

from autograder.instructor.notebook import definitions, load_module, read_notebook
from autograder.instructor.reference import reference
from autograder.instructor.vectors import build_vectors, drift, load_committed
from autograder.instructor.verify import grade_cells
from autograder.student.checks import load_vectors
from autograder.student.paths import course_root, release_notebook, solution_notebook
from autograder.student.runner import run_plan
from autograder.student.specs import ASSIGNMENTS, specs_for

Runner = Callable[..., subprocess.CompletedProcess]
pytestmark = pytest.mark.parametrize("assignment", ASSIGNMENTS)

SOLUTION_REGION = re.compile(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", re.S)


def comparable(nb: nbformat.NotebookNode) -> list[dict]:
    """What a release is made of, without volatile fields (ids, outputs, execution counts)."""
    meta = ("nbgrader", "deletable", "editable")
    return [
        {
            "cell_type": c.cell_type,
            "source": c.source,
            "attachments": c.get("attachments"),
            **{k: c.metadata[k] for k in meta if k in c.metadata},
        }
        for c in nb.cells
    ]


def nbgrader_meta(cell: nbformat.NotebookNode) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


@pytest.mark.xdist_group("release")
def test_release_is_generated_from_solutions(assignment: str, tmp_path: Path, run_nbgrader: Runner) -> None:
    """notebooks/<a> is exactly what `nbgrader generate_assignment` makes of solutions/<a> today."""
    shutil.copy(course_root() / "nbgrader_config.py", tmp_path / "nbgrader_config.py")
    shutil.copytree(course_root() / "solutions", tmp_path / "solutions")
    run = run_nbgrader(tmp_path, "generate_assignment", assignment, "--force")
    assert "not recognized" not in run.stderr, run.stderr  # the course's config is all in use

    fresh = read_notebook(tmp_path / "notebooks" / assignment / f"{assignment}.ipynb")
    committed = read_notebook(release_notebook(assignment))
    fix = (
        f"notebooks/{assignment} is out of date with solutions/{assignment}: run "
        f"`nbgrader generate_assignment {assignment} --force` from the repo root and commit it"
    )
    assert len(committed.cells) == len(fresh.cells), fix
    for i, (want, got) in enumerate(zip(comparable(fresh), comparable(committed), strict=True)):
        assert got == want, f"cell {i} ({want.get('nbgrader', {}).get('grade_id')}) differs. {fix}"
    assert committed.metadata.get("kernelspec") == fresh.metadata.get("kernelspec"), fix


def test_figures_are_the_ones_diagrams_py_draws(assignment: str) -> None:
    """Each figure attached to a markdown cell is what ``solutions/diagrams.py`` draws today,
    and every attachment of the notebook is one of them (an assignment may have none)."""
    diagrams = runpy.run_path(str(course_root() / "solutions" / "diagrams.py"))  # no .pyc written
    solution = read_notebook(solution_notebook(assignment))
    figures = [f for f in diagrams["FIGURES"] if f[0] == assignment]
    attached = {
        (nbgrader_meta(c).get("grade_id"), name) for c in solution.cells for name in c.get("attachments", {})
    }
    assert attached == {(grade_id, name) for _, grade_id, name, _ in figures}
    for _, grade_id, name, draw in figures:
        cell = next(c for c in solution.cells if nbgrader_meta(c).get("grade_id") == grade_id)
        assert f"](attachment:{name})" in cell.source
        assert list(cell.get("attachments", {})) == [name]
        png = base64.b64decode(cell.attachments[name]["image/png"])
        assert diagrams["png_source"](png) == diagrams["source_digest"](draw()), (
            f"{name} is out of date: run `python solutions/diagrams.py`, then regenerate the release"
        )


def test_solutions_carry_no_outputs(assignment: str) -> None:
    """solutions/ is committed clean: no outputs, no execution counts (no stale or private results)."""
    nb = read_notebook(solution_notebook(assignment))
    dirty = [
        i
        for i, c in enumerate(nb.cells)
        if c.cell_type == "code" and (c.get("outputs") or c.get("execution_count") is not None)
    ]
    assert not dirty, (
        f"solutions/{assignment} has outputs or execution counts in cells {dirty}: "
        "clear them (Kernel > Restart & Clear Output) before committing"
    )


@GROUP
def test_vectors_are_in_sync(assignment: str) -> None:
    """The committed public self-check vectors are what build_vectors computes from solutions/
    on this machine, up to the rounding that differs from one BLAS to another."""
    problems = drift(load_committed(assignment), fresh_vectors(assignment))
    assert not problems, (
        f"autograder/student/vectors/{assignment}.npz is out of date: run `python -m autograder vectors`.\n"
        + "\n".join(problems[:10])
    )


# One output of each kind, changed by far less than the judge's TOL (1e-5) could see.
PERTURBED = {
    "assign_5a": ("gru_cell_forward", 0),
    "assign_5b": ("rnn_cell_backward", "dWaa"),
    "assign_5c": ("gru_cell_backward", "dWr"),
}


def test_vectors_check_catches_a_changed_reference(assignment: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The sync test is not blind: nudge one output of the reference by 1e-7 of its size and
    the regenerated vectors no longer match the committed ones, on the keys of that output."""
    name, field = PERTURBED[assignment]
    ref = reference(assignment)
    original = getattr(ref, name)

    @functools.wraps(original)  # the same signature: its calls are recorded as the reference's
    def nudged(*args, **kwargs):
        out = original(*args, **kwargs)
        if isinstance(out, dict):
            return {**out, field: out[field] * (1 + 1e-7)}
        return (out[0] * (1 + 1e-7), *out[1:])

    monkeypatch.setattr(ref, name, nudged)
    problems = drift(load_committed(assignment), build_vectors(assignment))
    changed = [p for p in problems if p.startswith(f"{name}::exp::") and "mistake" not in p]
    assert changed, f"a change of {name}'s output {field!r} went unnoticed: {problems[:5]}"


def test_vectors_cover_every_graded_function(assignment: str) -> None:
    """Each graded function has a self-check plan with at least one case and expected data."""
    for spec in specs_for(assignment):
        plan, _, expected = load_vectors(spec)
        assert plan["calls"] and expected, spec.name
    assert {s.name for s in specs_for(assignment)} == set(grade_cells(assignment))


def test_release_has_no_solutions_or_hidden_tests(assignment: str) -> None:
    """No solution markers, no solution lines, no hidden-test markers or calls in the release."""
    release = read_notebook(release_notebook(assignment))
    text = "\n".join(c.source for c in release.cells)
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "HIDDEN TESTS", "hidden=True"):
        assert marker not in text, f"the release of {assignment} contains {marker!r}"

    solutions = {
        nbgrader_meta(c).get("grade_id"): c.source
        for c in read_notebook(solution_notebook(assignment)).cells
        if nbgrader_meta(c).get("solution")
    }
    released = {nbgrader_meta(c).get("grade_id"): c.source for c in release.cells}
    assert solutions, "no solution cells found"
    for grade_id, source in solutions.items():
        regions = SOLUTION_REGION.findall(source)
        assert regions, f"solution cell {grade_id} has no ### BEGIN/END SOLUTION region"
        lines = {ln.strip() for region in regions for ln in region.splitlines() if ln.strip()}
        leaked = sorted(lines & {ln.strip() for ln in released[grade_id].splitlines()})
        assert not leaked, f"the release cell {grade_id} contains solution lines: {leaked}"


def test_release_functions_raise_not_implemented(assignment: str) -> None:
    """Every stubbed function of the release raises NotImplementedError on its self-check cases."""
    release = read_notebook(release_notebook(assignment))
    stubs = {nbgrader_meta(c)["grade_id"] for c in release.cells if nbgrader_meta(c).get("solution")}
    assert stubs == set(grade_cells(assignment))
    module = load_module(definitions(release), f"release_{assignment}")
    for spec in specs_for(assignment):
        plan, arrays, _ = load_vectors(spec)
        outputs, _, errors, _ = run_plan(getattr(module, spec.name), plan, arrays)
        labels = [c["label"] for c in plan["calls"]]
        assert sorted(errors) == sorted(labels), f"{spec.name} returned something: {sorted(outputs)}"
        assert all("NotImplementedError" in e for e in errors.values()), (spec.name, errors)


def test_vectors_are_in_sync_under_another_blas(assignment: str) -> None:
    """Regenerated with other BLAS kernels (OpenBLAS's oldest x86 core type, as another CPU
    would pick), the vectors still count as in sync, although their numerical gradients
    differ from this machine's in the last digits. Without a DYNAMIC_ARCH OpenBLAS the
    variable is ignored and this is the plain sync test again."""
    code = (
        "import sys\n"
        "from autograder.instructor.vectors import build_vectors, drift, load_committed\n"
        f"problems = drift(load_committed({assignment!r}), build_vectors({assignment!r}))\n"
        "print('\\n'.join(problems)); sys.exit(bool(problems))\n"
    )
    env = {**os.environ, "OPENBLAS_CORETYPE": "Prescott"}
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
