"""Partial credit: a bug in one output costs that output's share, and nothing else.

Each graded function's points are shared among its outputs or its cases
(``Spec.parts``/``Spec.by_case``, ``autograder/student/credit.py``). Here, for every graded
function, a bug that breaks one part (or some of its cases) is run through the grade
cell's check in this process and through the trusted verify in the sandbox: it loses
exactly that part's share, its message says which parts are right, and under the
course's all-or-nothing policy (``c.PartialCredit.enabled = False``) it scores 0.
The catalogue's mistakes (``tests/test_trusted.py``, ``tests/test_hints.py``) and the
correct variants (``tests/test_variants.py``) are checked against the same split.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
from fractions import Fraction
from pathlib import Path

import nbformat
import pytest
from partial import check_parts_follow_messages, read_parts, read_shares

from autograder.instructor import submissions
from autograder.instructor.course import course_config
from autograder.instructor.mistakes import CATALOG
from autograder.instructor.reference import mutant, reference
from autograder.instructor.verify import (
    CellResult,
    PartialCredit,
    grade_cells,
    hidden_outcome,
    partial_credit,
    record,
    verify_notebook,
)
from autograder.student.cases import Part, Spec
from autograder.student.checks import CheckFailed, check
from autograder.student.credit import Earned, score, shares
from autograder.student.paths import course_root
from autograder.student.specs import ASSIGNMENTS, SPECS


def catalogued(function: str, name: str) -> tuple[tuple[str, str], ...]:
    return next(m.edits for m in CATALOG[function] if m.name == name)


# function -> (the bug, as edits of the reference; the parts it loses; the points it keeps)
ONE_PART_BUGS: dict[str, tuple[tuple[tuple[str, str], ...], set[str], Fraction]] = {
    "rnn_cell_forward": (catalogued("rnn_cell_forward", "softmax over the wrong axis"), {"yt_pred"}, 5),
    "rnn_forward": (
        catalogued("rnn_forward", "a stores the state before each step"),
        {"a (and caches[1])"},
        5,
    ),
    "gru_cell_forward": (
        (("yt_pred = softmax(Wy @ a_next + by)", "yt_pred = softmax(Wy @ a_prev + by)"),),
        {"yt_pred"},
        14,
    ),
    "gru_forward": (
        catalogued("gru_forward", "a stores the state before each step"),
        {"a (and caches[1])"},
        5,
    ),
    "rnn_cell_backward": (
        catalogued("rnn_cell_backward", "dba summed over the wrong axis"),
        {"gradients['dba']"},
        12,
    ),
    # the example: four gradients right, dba summed over the wrong axis
    "rnn_backward": (
        (('dba += grads["dba"]', 'dba += np.sum(grads["dba"], axis=0, keepdims=True)'),),
        {"gradients['dba']"},
        12,
    ),
    "clip": (catalogued("clip", "keys dropped"), {"any other key (dx, da0)"}, 4),
    # split by case: the names cycling a -> b -> c still come out right
    "sample": (
        catalogued("sample", "hidden state not carried"),
        {"case 'vocabulary of 7, 2000 draws'", "case 'max_length=4 with a rare newline'"},
        Fraction(333, 100),
    ),
    "optimize": (catalogued("optimize", "first hidden state returned"), {"a_last"}, 9),
    # split by case: names cut to four letters change the first case only
    "model": (
        (("name = names[j % len(names)]", "name = names[j % len(names)][:4]"),),
        {"case '6 names, 90 iterations'"},
        Fraction(5, 2),
    ),
    "gradient_flow": (  # per-example norms summed: right only when m = 1
        (("norms[t] = np.linalg.norm(da)", "norms[t] = np.linalg.norm(da, axis=0).sum()"),),
        {
            "case 'n_x=4, n_a=6, n_y=3, m=7, T_x=5'",
            "case 'n_x > n_a, T_x=6'",
            "case 'spectral radius 0.5, T_x=9'",
        },
        4,
    ),
    "clip_by_norm": (  # only the parameters' gradients rescaled
        (
            (
                "return {name: grad * scale for name, grad in gradients.items()}",
                'return {name: grad * scale if name[:2] == "dW" or name in ("dba", "dby") else grad '
                "for name, grad in gradients.items()}",
            ),
        ),
        {"any other key (dx, da0)"},
        4,
    ),
    "bigram_log_probs": (  # each letter of a name counted once
        (
            (
                "indices = [newline] + [char_to_ix[ch] for ch in name] + [newline]",
                "indices = [newline] + [char_to_ix[ch] for ch in dict.fromkeys(name)] + [newline]",
            ),
        ),
        {"case '12 random names'", "case 'one-letter names and repeated letters'"},
        Fraction(333, 100),
    ),
    "gru_cell_backward": (
        catalogued("gru_cell_backward", "dWh uses [a_prev; xt] instead of [r * a_prev; xt]"),
        {"gradients['dWh']"},
        Fraction(35, 2),
    ),
    "gru_backward": (
        catalogued("gru_backward", "dx stored at the mirrored step"),
        {"gradients['dx']"},
        Fraction(35, 4),
    ),
}


def points(function: str) -> float:
    return grade_cells(SPECS[function].assignment)[function][1]


def hidden_result(function: str, fn: object, partial: bool = True) -> CellResult:
    """The grade cell's trusted verdict on ``fn``, judged in this process (trusted code only)."""
    grade_id, max_points = grade_cells(SPECS[function].assignment)[function]
    with contextlib.redirect_stdout(io.StringIO()):
        return CellResult(function, grade_id, max_points, hidden_outcome(function, fn), partial)


# --- the arithmetic ------------------------------------------------------------------


@pytest.mark.parametrize("pts", [1, 2.5, 5, 10, 15, 20, 7.25, 100, 0.01])
@pytest.mark.parametrize("weights", [[1], [1, 1], [1, 1, 1], [3, 3, 1, 1, 2], [4, 1], [2, 3, 1, 4], [1] * 7])
def test_shares_sum_exactly_to_the_points(pts: float, weights: list[int]) -> None:
    """Hundredths dealt out by weight: their sum is the points, exactly, and no share is
    more than a hundredth from its exact value."""
    dealt = shares(pts, weights)
    assert sum(dealt) == Fraction(str(pts))
    for share, w in zip(dealt, weights, strict=True):
        assert share.denominator in (1, 2, 4, 5, 10, 20, 25, 50, 100)
        assert abs(share - Fraction(str(pts)) * w / sum(weights)) < Fraction(1, 100)


def test_shares_prefer_the_earlier_part_on_a_tie() -> None:
    assert shares(10, [1, 1, 1]) == [Fraction(334, 100), Fraction(333, 100), Fraction(333, 100)]
    assert shares(15, [1] * 5) == [Fraction(3)] * 5
    assert shares(20, [3, 3, 1, 1, 2]) == [6, 6, 2, 2, 4]


def test_score_all_or_nothing_and_partial() -> None:
    parts = [Earned("a", 1, True), Earned("b", 1, True), Earned("c", 3, False)]
    assert score(10, parts, passed=False) == 4
    assert score(10, parts, passed=False, partial=False) == 0
    assert score(10, parts, passed=True, partial=False) == 10
    assert score(10, [], passed=False) == 0  # not judged at all (e.g. a malformed notebook)
    with pytest.raises(ValueError):
        shares(10, [1, 0])


def test_a_spec_split_must_cover_every_output_once() -> None:
    """A typo in a spec's parts is caught when the spec is made, not when a student is graded."""
    fields = {"0": "a", "1": "b"}
    make = lambda rng, hidden: []  # noqa: E731
    with pytest.raises(ValueError, match="exactly once"):
        Spec("f", "assign_x", fields, make, parts=(Part("a", ("0",)),))
    with pytest.raises(ValueError, match="exactly once"):
        Spec("f", "assign_x", fields, make, parts=(Part("a", ("0", "1")), Part("b", ("1",))))
    with pytest.raises(ValueError, match="whole number"):
        Spec("f", "assign_x", fields, make, parts=(Part("a", ("0",), 0), Part("b", ("1",))))
    with pytest.raises(ValueError, match="not both"):
        Spec("f", "assign_x", fields, make, parts=(Part("a", ("0", "1")),), by_case=True)
    default = Spec("f", "assign_x", fields, make)
    assert [(p.name, p.paths, p.weight) for p in default.output_parts()] == [
        ("a", ("0",), 1),
        ("b", ("1",), 1),
    ]
    assert Spec("g", "assign_x", {}, make).shared_by_case


# --- every graded function -------------------------------------------------------------


def test_every_graded_function_has_a_one_part_bug() -> None:
    missing = sorted(set(SPECS) - set(ONE_PART_BUGS))
    assert not missing, (
        f"add to ONE_PART_BUGS a bug of {missing} that breaks one part of its split (an edit of "
        "the reference, the parts it loses, the points it keeps), so the split is proven"
    )
    assert set(ONE_PART_BUGS) <= set(SPECS)


@pytest.mark.parametrize("function", sorted(SPECS))
def test_the_readme_points_table_shows_each_split(function: str) -> None:
    """README's Points table: each function's points and each part's share, as graded."""
    spec = SPECS[function]
    readme = (course_root() / "README.md").read_text(encoding="utf-8")
    row = next(
        (line for line in readme.splitlines() if line.startswith(f"| {spec.assignment} | `{function}` |")), ""
    )
    assert row, f"README's Points table has no row for {function}"
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert float(cells[2]) == points(function)
    if spec.shared_by_case:
        n = len(spec.cases(hidden=True))
        assert f"equal shares of its {n} hidden cases" in cells[3], row
        return
    dealt = shares(points(function), [p.weight for p in spec.output_parts()])
    assert read_shares(cells[3]) == {
        p.name: float(s) for p, s in zip(spec.output_parts(), dealt, strict=True)
    }


@pytest.mark.parametrize("function", sorted(ONE_PART_BUGS))
def test_a_bug_in_one_part_loses_only_its_share(function: str) -> None:
    """The hidden cases, judged as the trusted verify judges them: the parts the bug breaks
    lose their shares, the rest keep theirs, and the message names both."""
    edits, lost, kept = ONE_PART_BUGS[function]
    spec = SPECS[function]
    result = hidden_result(function, getattr(mutant(spec.assignment, function, edits), function))
    assert not result.outcome.passed
    assert {p.name for p in result.outcome.parts if not p.earned} == lost, result.outcome.message()
    assert result.exact_score == kept and result.score == float(kept)
    assert 0 < result.score < result.max_points
    message = result.outcome.message()
    right = [p.name for p in result.outcome.parts if p.earned]
    assert f"Already right: {', '.join(right)} (these keep their share of the points)" in message
    check_parts_follow_messages(spec, result.outcome)
    # the same verdict under the course's all-or-nothing policy
    assert dataclasses.replace(result, partial=False).score == 0.0
    # which part earned what, as the feedback and grades.csv show it
    assert read_parts(result.parts_text()) == {
        name: (float(share if earned else 0), float(share)) for name, share, earned in result.shares()
    }
    assert sum(share for _, share, _ in result.shares()) == result.max_points


@pytest.mark.parametrize("function", sorted(ONE_PART_BUGS))
def test_the_grade_cell_claims_the_public_share(function: str) -> None:
    """In the kernel, the grade cell's check returns the public cases' share (nbgrader's
    partial score), the full points for the reference, and raises for a function with
    nothing right. Only a claim: the trusted verify's score replaces it."""
    edits, _, _ = ONE_PART_BUGS[function]
    spec, pts = SPECS[function], points(function)
    fn = getattr(mutant(spec.assignment, function, edits), function)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        claim = check(function, fn, points=pts)
        full = check(function, getattr(reference(spec.assignment), function), points=pts)
    assert full == pts
    if function == "model":  # its one public case has no name longer than four letters
        assert claim == pts
        return
    assert claim is not None and 0 < claim < pts
    assert out.getvalue().startswith(f"Partly right: {claim:g} of {pts:g} points on the public cases")
    with pytest.raises(CheckFailed), contextlib.redirect_stdout(io.StringIO()):
        check(function, lambda *a, **k: None, points=pts)


def test_a_function_that_cannot_run_earns_nothing() -> None:
    """A function that times out (or crashes its process, or is missing) keeps no part,
    whatever its other cases returned: the sandbox reports it as not run."""
    from autograder.student.judge import NOT_RUN, Run, judge_values

    spec = SPECS["rnn_cell_backward"]
    labels = [c.label for c in spec.cases(hidden=True)]
    run = Run({}, {}, {labels[-1]: NOT_RUN + "it ran longer than 5 s (an infinite loop?) and was stopped"})
    outcome = judge_values(spec, labels, run, {})
    assert outcome.parts and not any(p.earned for p in outcome.parts)
    by_case = SPECS["model"]
    labels = [c.label for c in by_case.cases(hidden=True)]
    outcome = judge_values(by_case, labels, Run({}, {}, {labels[0]: NOT_RUN + "its process died"}), {})
    assert outcome.parts and not any(p.earned for p in outcome.parts)


# --- through the sandbox: the trusted verify ------------------------------------------


def one_part_bugs_notebook(assignment: str) -> nbformat.NotebookNode:
    nb = submissions.completed(assignment)
    for function, (edits, _, _) in ONE_PART_BUGS.items():
        if SPECS[function].assignment == assignment:
            nb = submissions.edit_function(nb, function, edits)
    return nb


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_trusted_verify_gives_each_bug_its_share(tmp_path: Path, assignment: str) -> None:
    """A notebook with a one-part bug in every graded function: each scores exactly what
    its intact parts are worth under the trusted verify; all or nothing gives each 0."""
    path = tmp_path / f"{assignment}.ipynb"
    nbformat.write(one_part_bugs_notebook(assignment), path)
    results = verify_notebook(assignment, path, partial=assignment != ASSIGNMENTS[0])
    for r in results:
        _, lost, kept = ONE_PART_BUGS[r.function]
        partial = dataclasses.replace(r, partial=True)
        assert partial.exact_score == kept, f"{r.function}: {partial.parts_text()}\n{r.outcome.message()}"
        assert {p.name for p in r.outcome.parts if not p.earned} == lost
        assert dataclasses.replace(r, partial=False).score == 0.0
        assert r.score == (0.0 if assignment == ASSIGNMENTS[0] else float(kept))


def test_the_course_config_sets_the_policy(tmp_path: Path) -> None:
    """``c.PartialCredit.enabled`` in nbgrader_config.py: on by default, off keeps all or nothing."""
    assert partial_credit(course_config(course_root())) is True
    assert PartialCredit().enabled is True
    (tmp_path / "nbgrader_config.py").write_text(
        "c = get_config()  # noqa: F821\nc.PartialCredit.enabled = False\n", encoding="utf-8"
    )
    assert partial_credit(course_config(tmp_path)) is False


class _Grade:
    def __init__(self, auto: float) -> None:
        self.auto_score, self.manual_score, self.needs_manual_grade = auto, None, True


class _Gradebook:
    """The few calls ``record`` makes, on grades held in a dict (the kernel's claims)."""

    def __init__(self, claims: dict[str, float]) -> None:
        self.grades = {gid: _Grade(v) for gid, v in claims.items()}
        self.db = type("Db", (), {"commit": lambda self: None})()

    def update_or_create_student(self, student: str) -> None:
        pass

    def find_submission(self, assignment: str, student: str) -> None:
        pass

    def find_grade(self, grade_id: str, notebook: str, assignment: str, student: str) -> _Grade:
        return self.grades[grade_id]


# (policy, the kernel's claim) -> (the claim as recorded, flagged?): the trusted score is 12 of
# 15 with partial credit, 0 without; under all or nothing a claim short of 15 is a claim of 0
CLAIMS = [
    (True, 15.0, 15.0, True),
    (True, 12.0, 12.0, False),
    (True, 3.0, 3.0, True),
    (False, 15.0, 15.0, True),
    (False, 12.0, 0.0, False),
    (False, 3.0, 0.0, False),
]


@pytest.mark.parametrize(("partial", "claim", "recorded", "flagged"), CLAIMS)
def test_a_partial_claim_is_only_a_claim(partial: bool, claim: float, recorded: float, flagged: bool) -> None:
    """The kernel's claim is replaced by the trusted share, compared as a number, and
    flagged where they disagree, as an all-or-nothing claim is."""
    edits, _, kept = ONE_PART_BUGS["rnn_cell_backward"]
    fn = mutant("assign_5b", "rnn_cell_backward", edits).rnn_cell_backward
    r = hidden_result("rnn_cell_backward", fn, partial)
    trusted = float(kept) if partial else 0.0
    gb = _Gradebook({r.grade_id: claim})
    flags = record(gb, "assign_5b", "s1", [r])
    assert gb.grades[r.grade_id].auto_score == trusted
    assert bool(flags) == flagged, flags
    if flags:
        assert (flags[0].nbgrader_score, flags[0].trusted_score) == (recorded, trusted)
        assert f"scores {trusted:g} under the trusted verify" in flags[0].reason


@pytest.mark.parametrize("partial", [True, False], ids=["partial", "all-or-nothing"])
def test_the_feedback_says_which_part_earned_what(partial: bool) -> None:
    """The feedback's first cell: the function's share and each part's points, or, under
    all or nothing, 0 and why; the message says what is already right either way."""
    from autograder.instructor.nbgrader_run import trusted_summary_cell

    edits, _, _ = ONE_PART_BUGS["rnn_cell_backward"]
    r = hidden_result(
        "rnn_cell_backward", mutant("assign_5b", "rnn_cell_backward", edits).rnn_cell_backward, partial
    )
    text = trusted_summary_cell([r]).source
    row = next(line for line in text.splitlines() if line.startswith("| `rnn_cell_backward` |"))
    _, _, scored, mark, by_part, _ = (c.strip() for c in row.split("|"))
    earned, maximum = (float(x) for x in scored.split(" / "))
    if partial:
        assert (earned, maximum, mark) == (12.0, 15.0, "partly right")
        right = {f"gradients[&#x27;{k}&#x27;]": (3.0, 3.0) for k in ("dxt", "da_prev", "dWax", "dWaa")}
        assert read_parts(by_part) == {**right, "gradients[&#x27;dba&#x27;]": (0.0, 3.0)}
        assert "earns the share of its points of each output" in text
    else:
        assert (earned, maximum, mark, by_part) == (0.0, 15.0, "failed", "")
        assert "only when all of it is right" in text
    assert "Already right: gradients[&#x27;dxt&#x27;]" in text


@pytest.mark.xdist_group("partial_all_or_nothing")
def test_plain_autograde_keeps_all_or_nothing_when_the_course_says_so(tmp_path: Path, run_nbgrader) -> None:
    """``c.PartialCredit.enabled = False`` in the course's nbgrader_config.py: plain
    ``nbgrader autograde`` (its TrustedVerify step) gives each one-part bug 0, the right
    functions their points, and flags nothing: the grade cells' partial claims count as 0."""
    from nbgrader.api import Gradebook

    from autograder.instructor.course import db_url, make_course, submit

    a = ASSIGNMENTS[0]
    root = make_course(tmp_path / "course", (a,))
    with open(root / "nbgrader_config.py", "a", encoding="utf-8") as f:
        f.write("\nc.PartialCredit.enabled = False\n")
    nb = one_part_bugs_notebook(a)
    nb = submissions.replace_function(nb, "rnn_forward", reference_source(a, "rnn_forward"))
    submit(root, "s1", a, nb)
    run_nbgrader(root, "autograde", a)
    with Gradebook(db_url(root)) as gb:
        got = {fn: gb.find_grade(gid, a, a, "s1").score for fn, (gid, _) in grade_cells(a).items()}
    assert got == {fn: 0.0 if fn != "rnn_forward" else pts for fn, (_, pts) in grade_cells(a).items()}
    flagged = (root / f"flags_{a}.csv").read_text(encoding="utf-8")  # written by TrustedVerify
    assert "s1" not in flagged, flagged


def reference_source(assignment: str, function: str) -> str:
    """The reference's cell of ``function``, as a completed notebook holds it."""
    full = submissions.completed(assignment)
    return next(c.source for c in full.cells if c.metadata.get("nbgrader", {}).get("grade_id") == function)
