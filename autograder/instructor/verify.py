"""The trusted verify: grade each submission outside the student's kernel.

Code in a student's kernel can patch NumPy, the checks or IPython, so a grade
reached there is only a claim. Here the student's functions run in the
sandbox on hidden inputs drawn by this process; only plain arrays come back,
and this process compares them with the reference and numerical gradients. The
trusted score of each grade cell goes into the nbgrader gradebook as its
automatic score (``gradebook.set_scores``; a manual score is an instructor's and
wins), and every cell where it disagrees with the kernel's claim is flagged.
"""

from __future__ import annotations

import csv
import functools
import tempfile
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
from traitlets import Bool
from traitlets.config import Configurable

from autograder.instructor.expected import hidden_suite
from autograder.instructor.gradebook import set_scores
from autograder.instructor.intake import read_handin
from autograder.instructor.notebook import NotebookError, definitions, read_notebook, skipped_when_grading
from autograder.instructor.reference import defined_name
from autograder.instructor.sandbox import Limits, Task, run_functions
from autograder.student.checks import verdict
from autograder.student.credit import points_text, score, shares
from autograder.student.judge import Outcome
from autograder.student.paths import release_notebook
from autograder.student.specs import SPECS


class PartialCredit(Configurable):
    """The course's policy on a function that is partly right, set in ``nbgrader_config.py``:
    ``c.PartialCredit.enabled = False`` keeps all or nothing."""

    enabled = Bool(
        True,
        help="Share each graded function's points among its outputs or cases (the split its "
        "spec declares, autograder/student/assignments/<a>.py); False: all or nothing.",
    ).tag(config=True)


def partial_credit(config) -> bool:
    """Whether the course whose traitlets ``config`` this is gives partial credit."""
    return bool(PartialCredit(config=config).enabled)


@dataclass
class CellResult:
    """The trusted verdict on one grade cell of one submission."""

    function: str
    grade_id: str
    max_points: float
    outcome: Outcome
    partial: bool = True  # the course's policy (``PartialCredit``)
    grader_fault: str = ""  # the verdict says nothing of the code: grade again (``Run.grader_fault``)

    @property
    def exact_score(self) -> Fraction:
        """The points earned, exactly: a sum of whole shares (``credit.score``)."""
        return score(self.max_points, self.outcome.parts, self.outcome.passed, self.partial)

    @property
    def score(self) -> float:
        return float(self.exact_score)

    def shares(self) -> list[tuple[str, Fraction, bool]]:
        """(part, its share of the points, earned) for each part the verdict judged."""
        parts = self.outcome.parts
        return [
            (p.name, s, p.earned)
            for s, p in zip(shares(self.max_points, [p.weight for p in parts]), parts, strict=True)
        ]

    def parts_text(self) -> str:
        """Which part earned what, in a line: "gradients['dx'] 3/3, ..., gradients['dba'] 0/3";
        empty unless the function is partly right and the course gives partial credit."""
        if not self.partial or not self.outcome.earned():
            return ""
        return ", ".join(
            f"{name} {points_text(s if earned else 0)}/{points_text(s)}" for name, s, earned in self.shares()
        )


@dataclass
class Flag:
    """A grade cell where the trusted score and nbgrader's disagree, or something broke."""

    student: str
    assignment: str
    grade_id: str
    nbgrader_score: float | None
    trusted_score: float | None
    reason: str


@functools.cache
def grade_cells(assignment: str) -> dict[str, tuple[str, float]]:
    """function -> (grade cell id, points), read from the release (public; the same
    metadata as the solution notebook's)."""
    cells = {}
    for cell in read_notebook(release_notebook(assignment)).cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade") and str(meta.get("grade_id", "")).startswith("test_"):
            cells[meta["grade_id"][len("test_") :]] = (meta["grade_id"], float(meta["points"]))
    return cells


@functools.cache
def provided_source(assignment: str, names: tuple[str, ...]) -> list[str]:
    """Imports plus the release's own definitions of the provided (ungraded) helpers in
    ``names``: public code, run in the sandbox after the student's so the graded function
    calls the course's versions. Graded helpers are replayed instead (``runner.Replay``)."""
    chunks = definitions(read_notebook(release_notebook(assignment)), skipped_when_grading(assignment))
    imports = [c for c in chunks if defined_name(c) is None and c.lstrip().startswith(("import", "from"))]
    wanted = {n for n in names if n not in SPECS}
    return imports + [c for c in chunks if defined_name(c) in wanted]


@functools.cache
def hidden_tasks(assignment: str) -> list[Task]:
    """One task per graded function: its hidden plan and inputs and the provided helpers
    it calls. The same list for every submission, so the sandbox writes it to disk once."""
    return [
        Task(spec.name, plan, arrays, provided_source(assignment, spec.deps))
        for spec, plan, arrays, _ in hidden_suite(assignment)
    ]


def hidden_outcome(name: str, fn: object) -> Outcome:
    """The verdict of the hidden cases on ``fn``, run in this process, its helpers replayed
    from the records here. For trusted code only (the course's own tests of its mistakes
    and variants): a student's function reaches the hidden cases through ``verify_notebook``."""
    from autograder.student.checks import judged

    if not callable(fn):
        return Outcome(name, False, 0, [f"{name} is not a function"])
    spec, plan, arrays, expected = next(e for e in hidden_suite(SPECS[name].assignment) if e[0].name == name)
    return judged(spec, fn, plan, arrays, expected)


def verify_notebook(
    assignment: str,
    path: str | Path,
    limits: Limits = Limits(),
    seconds: dict[str, float] | None = None,
    partial: bool = True,
) -> list[CellResult]:
    """Trusted verdicts for every graded function of the notebook at ``path``; each function
    may run ``seconds[function]`` (the grader's calibrated limits), at most ``limits``'.
    ``partial``: the course's policy (``partial_credit``); False: all or nothing."""
    cells = grade_cells(assignment)
    suite = hidden_suite(assignment)
    try:
        source = definitions(read_notebook(path), skipped_when_grading(assignment))
    except NotebookError as exc:
        return _all_failed(assignment, str(exc))
    runs = run_functions(source, hidden_tasks(assignment), limits, seconds)
    return [
        CellResult(
            spec.name, *cells[spec.name], _judged(spec, plan, run, expected), partial, run.grader_fault
        )
        for (spec, plan, _, expected), run in zip(suite, runs, strict=True)
    ]


def _judged(spec, plan: dict, run, expected) -> Outcome:
    """The verdict on one function; if its results break the judge (a kind of value no check
    foresaw), that function fails, saying so, and the others are still judged."""
    try:
        return verdict(spec, plan, run, expected)
    except Exception as exc:  # noqa: BLE001 - what the function returned is the student's
        why = (
            f"your function's results could not be judged ({type(exc).__name__}); "
            "return what its docstring says."
        )
        return Outcome(spec.name, False, len(plan["calls"]), [why])


def infer_assignment(path: str | Path) -> str:
    """The assignment a notebook belongs to, from its file name or its solution cells."""
    from autograder.student.specs import ASSIGNMENTS

    stem = Path(path).stem
    if stem in ASSIGNMENTS:
        return stem
    try:
        nb = read_notebook(path)
    except NotebookError:
        nb = None
    ids = {c.get("metadata", {}).get("nbgrader", {}).get("grade_id") for c in nb.cells} if nb else set()
    for assignment in ASSIGNMENTS:
        if ids & set(grade_cells(assignment)):
            return assignment
    raise NotebookError(f"{path}: cannot tell which assignment this is; pass --assignment.")


def _all_failed(assignment: str, why: str, grader_fault: str = "") -> list[CellResult]:
    cells = grade_cells(assignment)
    return [
        CellResult(spec.name, *cells[spec.name], Outcome(spec.name, False, 0, [why]), True, grader_fault)
        for spec, *_ in hidden_suite(assignment)
    ]


def could_not_verify(assignment: str, why: str) -> list[CellResult]:
    """Every function 0, as the grader's failure: the verify itself failed (``why``), so
    nothing was judged and the kernel's claims count for nothing."""
    return _all_failed(assignment, f"The trusted verify could not run ({why}).", why)


def verify_submission(course: Path, assignment: str, student: str, partial: bool = True) -> list[CellResult]:
    """Trusted verdicts for the notebook a student handed in (nbgrader's ``submitted/``
    layout), read as ``autograder.instructor.intake`` says: a regular file of the folder, bounded."""
    handin = read_handin(course, student, assignment)
    if handin.notebook is None:
        return _all_failed(assignment, " ".join(handin.notes))
    with tempfile.TemporaryDirectory(prefix="verify-") as tmp:
        path = Path(tmp) / f"{assignment}.ipynb"
        path.write_bytes(handin.notebook)
        return verify_notebook(assignment, path, partial=partial)


def zero_scores(gb, assignment: str, student: str) -> None:
    """Every grade cell of ``student`` at 0: what stands while nothing trusted is known yet."""
    set_scores(gb, assignment, student, {grade_id: 0.0 for grade_id, _ in grade_cells(assignment).values()})


def kernel_claims(gb, assignment: str, student: str, grade_ids: list[str]) -> dict[str, float | None]:
    """What nbgrader's autograde wrote for each grade cell: the kernel's claim (None where
    it wrote nothing), before ``record`` replaces it with the trusted score."""
    from nbgrader.api import MissingEntry

    claims: dict[str, float | None] = {}
    for grade_id in grade_ids:
        try:
            claims[grade_id] = gb.find_grade(grade_id, assignment, assignment, student).auto_score
        except MissingEntry:
            claims[grade_id] = None
    return claims


def record(
    gb,
    assignment: str,
    student: str,
    results: list[CellResult],
    claims: dict[str, float | None] | None = None,
) -> list[Flag]:
    """Write trusted scores into the gradebook ``gb``; return the disagreements with the
    kernel's ``claims`` (by default read first, from the same gradebook)."""
    if claims is None:
        claims = kernel_claims(gb, assignment, student, [r.grade_id for r in results])
    auto = dict(claims)
    set_scores(gb, assignment, student, {r.grade_id: r.score for r in results})
    flags = []
    for r in results:
        reason = None
        claim = auto[r.grade_id]
        if claim is not None and not r.partial and claim < r.max_points:
            # the grade cell claims a share of the points; under all or nothing, that is 0
            claim = auto[r.grade_id] = 0.0
        if r.grader_fault:  # first: the score is the grader's failure, not a verdict
            reason = f"the trusted verify could not judge this function: {r.grader_fault}. Regrade it."
        elif claim is None:
            reason = (
                "nbgrader produced no score for this cell (the notebook did not run through, "
                "or the cell's output was not a score nbgrader could read)"
            )
        elif claim > r.score:
            claimed = (
                "passed in the student's kernel (its public checks)"
                if claim >= r.max_points
                else f"claimed {claim:g} points in the student's kernel (its public checks)"
            )
            reason = (
                f"{claimed}, scores {r.score:g} under the trusted verify on the hidden cases: "
                + (r.outcome.problems[0] if r.outcome.problems else "")
                + " A bug the public cases miss, or tampering with the checks, NumPy or IPython."
            )
        elif claim < r.score and r.outcome.passed:
            reason = (
                "failed in the student's kernel but is correct when run alone "
                "(the notebook crashed, timed out or changed state before this cell)."
            )
        elif claim < r.score:
            reason = (
                f"claimed {claim:g} points in the student's kernel, scores {r.score:g} under the "
                "trusted verify: the public cases found more wrong than the hidden ones, or the "
                "notebook changed state before this cell."
            )
        if reason:
            flags.append(Flag(student, assignment, r.grade_id, auto[r.grade_id], r.score, reason))
    return flags


def inert(value: object) -> object:
    """A CSV cell a spreadsheet shows as text (``untrusted.csv_cell``): student text may
    start like a formula or hold escape sequences."""
    from autograder.instructor.untrusted import csv_cell

    return csv_cell(value)


def write_flags(path: Path, flags: list[Flag]) -> None:
    """The flags as CSV, one row per grade cell."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["student", "assignment", "grade_id", "nbgrader_score", "trusted_score", "reason"])
        for fl in flags:
            row = [fl.student, fl.assignment, fl.grade_id, fl.nbgrader_score, fl.trusted_score, fl.reason]
            writer.writerow([inert(v) for v in row])


def read_flags(path: Path) -> list[Flag]:
    """The flags a flags CSV holds (its cells as written: inert text, scores as text)."""
    if not path.exists():
        return []
    with open(path, newline="", encoding="utf-8") as f:
        return [Flag(**{k: row.get(k) for k in Flag.__dataclass_fields__}) for row in csv.DictReader(f)]


def replace_flags(
    path: Path, student: str, flags: list[Flag], results: list[CellResult] | None = None
) -> None:
    """``path`` (a flags CSV) with ``student``'s rows replaced by ``flags``; the other
    students' rows are kept (plain nbgrader autograde verifies one student at a time).

    With ``results`` (a verify run after autograde, which finds the kernel's claims
    already replaced in the gradebook), a row of ``student``'s is kept too while the
    trusted score it records is still the trusted score: the claim it reports is not
    in the gradebook any more, and nothing else remembers it.
    """
    trusted = {r.grade_id: r.score for r in results or []}
    new = {f.grade_id for f in flags}
    kept = []
    for old in read_flags(path):
        if old.student != inert(student):
            kept.append(old)
        elif old.grade_id in trusted and old.grade_id not in new:
            try:
                same = float(old.trusted_score) == trusted[old.grade_id]
            except (TypeError, ValueError):
                same = False
            if same:
                kept.append(old)
    write_flags(path, kept + flags)


def total(results: list[CellResult]) -> float:
    return float(np.sum([r.score for r in results]))
