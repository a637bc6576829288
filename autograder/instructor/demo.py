"""``python -m autograder demo``: a throwaway class graded end to end.

Four students hand in every assignment: the reference solution, the untouched
release, a realistic BPTT bug (in 5b and 5c), and a submission that fakes its checks. ``grade``
autogrades them with nbgrader, re-grades them outside their kernels with the
trusted verify (catching the fake), writes feedback and reports; the demo then
prints the score table and writes grades.csv and a loss-curve PNG.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from autograder.instructor import submissions
from autograder.instructor.course import make_course, submit
from autograder.instructor.grade import grade_class
from autograder.instructor.limits import Options
from autograder.instructor.mistakes import CATALOG
from autograder.instructor.report import print_summary, print_table, score_table, write_csv, write_reports
from autograder.student.specs import ASSIGNMENTS

TAMPER = (
    "# Student cell: replace the checks with one that always passes.\n"
    "def check(name, fn, hidden=False, points=None):\n"
    "    print('OK - all checks passed')\n"
)


def class_of_four() -> dict[str, dict[str, object]]:
    """student -> assignment -> notebook."""
    bptt_bug = next(m for m in CATALOG["rnn_backward"] if m.name.startswith("da_prev"))
    gru_bptt_bug = next(m for m in CATALOG["gru_backward"] if m.name.startswith("da_prev"))
    wrong_cell = submissions.edit_function(
        submissions.completed("assign_5a"),
        "rnn_cell_forward",
        (("a_next = np.tanh(Waa @ a_prev + Wax @ xt + ba)", "a_next = np.zeros_like(a_prev)"),),
    )
    return {
        "reference": {a: submissions.completed(a) for a in ASSIGNMENTS},
        "blank": {a: submissions.release(a) for a in ASSIGNMENTS},
        "bptt_bug": {
            **{a: submissions.completed(a) for a in ASSIGNMENTS},
            "assign_5b": submissions.with_mistake("assign_5b", "rnn_backward", bptt_bug),
            "assign_5c": submissions.with_mistake("assign_5c", "gru_backward", gru_bptt_bug),
        },
        "tamper": {
            **{a: submissions.completed(a) for a in ASSIGNMENTS},
            "assign_5a": submissions.add_cell(wrong_cell, TAMPER, after="code_setup"),
        },
    }


def train_curves(out: Path) -> Path:
    """Train the reference model briefly on both data sets and plot their held-out loss per character."""
    from autograder.instructor.plots import loss_curve
    from autograder.instructor.reference import reference

    ref = reference("assign_5b")
    curves = {}
    for label, filename, iterations in (
        ("element names", "element_list.txt", 3000),
        ("movie titles", "movie_title_list.txt", 3000),
    ):
        names, char_to_ix, ix_to_char = ref.load_names(filename)
        train, held_out = ref.split_names(names)
        steps: list[int] = []
        losses: list[float] = []

        def measure(
            j: int, parameters: dict, held_out=held_out, char_to_ix=char_to_ix, steps=steps, losses=losses
        ) -> None:
            if (j + 1) % 250 == 0:
                steps.append(j + 1)
                losses.append(ref.loss_per_char(parameters, held_out, char_to_ix))

        ref.model(train, ix_to_char, char_to_ix, num_iterations=iterations, n_a=50, callback=measure)
        curves[label] = (steps, losses)
    return loss_curve(out / "loss_curves.png", curves)


def run_demo(out: Path | None = None, db_url: str | None = None) -> int:
    start = time.perf_counter()
    root = (out or Path(tempfile.mkdtemp(prefix="rnn-course-demo-"))).resolve() / "course"
    print(f"Demo course: {root}")
    make_course(root)
    for student, notebooks in class_of_four().items():
        for assignment, nb in notebooks.items():
            submit(root, student, assignment, nb)
    for assignment in ASSIGNMENTS:
        # the instructor's one command: autograde, trusted verify, feedback, reports
        results = grade_class(root, assignment, Options(db_url=db_url))
        print_summary(results, write_reports(root, assignment, results, gradebook=db_url))
    header, rows = score_table(root, list(ASSIGNMENTS), db_url)
    print("\nFinal scores (trusted):")
    print_table(header, rows)
    grades = root / "grades.csv"
    write_csv(grades, header, rows)
    png = train_curves(root)
    print(f"\nGrades: {grades}\nLoss curves: {png}")
    print(f"Done in {time.perf_counter() - start:.0f} s.")
    return 0
