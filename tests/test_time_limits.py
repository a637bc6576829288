"""Time limits calibrated from the reference, runaway functions stopped once, figures skipped.

One small class of ``assign_5b`` is graded: a submission whose ``rnn_cell_backward``
never returns (its self-check and its grade cell call it) and an honest one with a cell of the student's
own that carries the course's skip tag. The tests pin down that the endless loop
is waited out once, that every later call fails at once with a message naming the
function, and that grading skips exactly the course's figure and training cells
(matplotlib is never imported).
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from autograder.instructor import submissions
from autograder.instructor.calibrate import CELL_FLOOR, FACTOR, FUNCTION_FLOOR, CellLimits
from autograder.instructor.course import submit
from autograder.instructor.grade import grade_class, load_result
from autograder.instructor.limits import Options
from autograder.instructor.notebook import SKIP_TAG, definitions, skipped_when_grading
from autograder.instructor.preprocessors import SKIPPED
from autograder.instructor.verify import grade_cells
from autograder.student.runaway import StoppedFunction, culprit, stopped
from autograder.student.specs import ASSIGNMENTS

pytestmark = pytest.mark.xdist_group("time_limits")
A = "assign_5b"
PROBE = "import sys\nprint('matplotlib imported:', 'matplotlib' in sys.modules)\n"


def test_cell_limits_scale_the_reference_between_a_floor_and_a_cap() -> None:
    limits = CellLimits({"quick": 0.01, "slow": 1.0, "slower": 5.0}, cap=60.0)
    assert limits.seconds("quick") == CELL_FLOOR
    assert limits.seconds("slow") == max(FACTOR * 1.0, CELL_FLOOR)
    assert limits.seconds("slower") == 60.0
    assert limits.seconds(None) == CELL_FLOOR  # a cell of the student's own
    cell = nbformat.v4.new_code_cell("pass", metadata={"nbgrader": {"grade_id": "slow"}})
    assert limits(cell) == limits.seconds("slow")


def test_the_culprit_is_the_innermost_function_the_notebook_defined() -> None:
    namespace: dict = {}
    exec(
        "def inner():\n    while True:\n        raise KeyboardInterrupt\n"
        "def outer():\n    return [inner() for _ in range(1)]\n",
        namespace,
    )
    with pytest.raises(KeyboardInterrupt) as info:
        namespace["outer"]()
    assert culprit(info.value.__traceback__, namespace) == "inner"
    assert culprit(info.value.__traceback__, {}) is None
    with pytest.raises(StoppedFunction, match="inner was stopped in an earlier cell"):
        stopped("inner")(1, 2)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_the_verify_never_loads_the_figure_cells(assignment: str) -> None:
    """The figure and training cells (tagged in the release) are the only ones importing
    matplotlib; the verify leaves them out of a submission's definitions."""
    nb = submissions.completed(assignment)
    skip = skipped_when_grading(assignment)
    tagged = [c for c in nb.cells if SKIP_TAG in c.metadata.get("tags", [])]
    assert tagged and {c.source for c in tagged} == skip
    assert any("matplotlib" in chunk for chunk in definitions(nb))
    assert not any("matplotlib" in chunk for chunk in definitions(nb, skip))


def _endless(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "rnn_cell_backward":
            head, rest = cell.source.split("\n", 1)
            cell.source = f"{head}\n    while True:\n        pass\n{rest}"
    return nb


def _tagged_own_cell(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The student copies the skip tag onto a cell of their own: it must still run."""
    nb = submissions.add_cell(nb, "print('my own cell ran')\n", after="code_provided")
    own = next(c for c in nb.cells if c.source == "print('my own cell ran')\n")
    own.metadata["tags"] = [SKIP_TAG]
    return submissions.add_cell(nb, PROBE, after="model")


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory, new_course) -> Path:
    course = new_course(tmp_path_factory.mktemp("limits") / "course")
    submit(course, "endless", A, _endless(submissions.completed(A)))
    submit(course, "honest", A, _tagged_own_cell(submissions.completed(A)))
    grade_class(course, A, Options(workers=2))
    return course


def _outputs(course: Path, student: str) -> dict[str, str]:
    """grade id (or the source, for a student's cell) -> the text of its outputs."""
    path = course / "autograded" / student / A / f"{A}.ipynb"
    nb = nbformat.read(path, as_version=4)
    out = {}
    for cell in nb.cells:
        if cell.cell_type == "code":
            key = cell.metadata.get("nbgrader", {}).get("grade_id") or cell.source
            texts = [
                o.text
                if o.output_type == "stream"
                else "\n".join([*o.get("traceback", []), o.get("evalue", "")])
                for o in cell.outputs
            ]
            out[key] = "".join(texts)
    return out


def test_an_endless_loop_is_waited_out_once_and_named(graded: Path) -> None:
    result = load_result(graded, A, "endless")
    assert result.status == "timeout"
    assert any("ran longer than its time limit" in note for note in result.notes), result.notes
    outputs = _outputs(graded, "endless")
    timed_out = [key for key, text in outputs.items() if "CellTimeoutError" in text]
    assert timed_out == ["selfcheck_rnn_cell_backward"]
    # its grade cell calls it again: it fails at once, saying why
    assert "rnn_cell_backward was stopped in an earlier cell" in outputs["test_rnn_cell_backward"]
    # the checks of the functions built on it replay the course's rnn_cell_backward: they pass
    for later in ("selfcheck_rnn_backward", "selfcheck_optimize", "selfcheck_model"):
        assert outputs[later].startswith("OK - "), (later, outputs[later])
    # the trusted verify stops it at its calibrated floor; helpers are replayed elsewhere
    points = {fn: p for fn, (_, p) in grade_cells(A).items()}
    assert {c["function"]: c["trusted"] for c in result.cells.values()} == {
        fn: 0.0 if fn == "rnn_cell_backward" else p for fn, p in points.items()
    }
    problem = result.cells["test_rnn_cell_backward"]["problem"]
    assert f"ran longer than {FUNCTION_FLOOR:.0f} s of CPU time" in problem, problem


def test_grading_skips_the_course_figures_and_nothing_of_the_student(graded: Path) -> None:
    result = load_result(graded, A, "honest")
    assert result.status == "ok" and result.total == sum(p for _, p in grade_cells(A).values())
    outputs = _outputs(graded, "honest")
    for grade_id in ("code_train_elements", "code_plot_elements", "code_train_movies", "code_plot_movies"):
        assert outputs[grade_id] == SKIPPED, grade_id
    assert "my own cell ran" in outputs["print('my own cell ran')\n"]
    assert "matplotlib imported: False" in outputs[PROBE]
