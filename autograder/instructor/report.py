"""Verify a course's submissions, and report scores from the gradebook (table, CSV)."""

from __future__ import annotations

import csv
import time
from collections.abc import Sequence
from pathlib import Path

from autograder.instructor.course import course_config, gradebook_url
from autograder.instructor.gradebook import manual_scores
from autograder.instructor.late import Lateness, apply_late_penalty, penalty_plugin
from autograder.instructor.sandbox import backend
from autograder.instructor.untrusted import csv_cell, id_problem, printable
from autograder.instructor.verify import (
    Flag,
    grade_cells,
    partial_credit,
    record,
    replace_flags,
    verify_submission,
    write_flags,
)


def students_of(course: Path, assignment: str) -> list[str]:
    """Students with a submission of ``assignment`` in ``submitted/``."""
    return sorted(p.parent.name for p in (course / "submitted").glob(f"*/{assignment}") if p.is_dir())


def verify_course(
    course: Path, assignment: str, students: list[str] | None = None, gradebook: str | None = None
) -> int:
    """``python -m autograder verify``: trusted scores into the gradebook (``gradebook``, a
    database URL, else the course's), flags reported."""
    from nbgrader.api import Gradebook

    from autograder.instructor.sandbox import require_sandbox

    require_sandbox(unsafe=False)
    students = students or students_of(course, assignment)
    print(f"Trusted verify of {assignment}: {len(students)} submission(s), sandbox: {backend()}")
    flags: list[Flag] = []
    # one file with plain nbgrader autograde's flags (preprocessors.TrustedVerify): its rows
    # for the students verified here are replaced, the others' kept
    flags_csv = course / f"flags_{assignment}.csv"
    start = time.perf_counter()
    plugin = penalty_plugin(course_config(course))
    partial = partial_credit(course_config(course))
    with Gradebook(gradebook_url(course, gradebook)) as gb:
        for student in students:
            # one student's invalid id or database error is reported, the rest are verified
            problem = id_problem(student)
            if problem:
                flags.append(Flag(student, assignment, "", None, None, f"not verified: {problem}"))
                replace_flags(flags_csv, student, flags[-1:])
                continue
            results = verify_submission(course, assignment, student, partial)
            try:
                found = record(gb, assignment, student, results)
                replace_flags(flags_csv, student, found, results)
                flags += found
                # nbgrader's autograde charged lateness on the kernel's claim: again, on the trusted score
                apply_late_penalty(gb, assignment, student, plugin)
            except Exception as exc:  # noqa: BLE001
                gb.db.rollback()
                flags.append(
                    Flag(student, assignment, "", None, None, f"not recorded: {type(exc).__name__}: {exc}")
                )
                replace_flags(flags_csv, student, flags[-1:])
    seconds = time.perf_counter() - start
    print(f"  {seconds:.1f} s ({seconds / max(len(students), 1):.2f} s per submission)")
    print_flags(flags)
    print(f"  flags written to {flags_csv}")
    return 0


def print_flags(flags: list[Flag]) -> None:
    if not flags:
        print("  No disagreement between nbgrader and the trusted verify.")
    for f in flags:
        print(
            f"  FLAG {printable(f.student, 80)} {f.assignment} {f.grade_id}: nbgrader {f.nbgrader_score}, "
            f"trusted {f.trusted_score}: {printable(f.reason)}"
        )


def score_table(
    course: Path, assignments: list[str], gradebook: str | None = None
) -> tuple[list[str], list[list]]:
    """One row per student: the score of each graded function, then the total.

    Scores are nbgrader's final ones (the trusted score where verify wrote it).
    """
    from nbgrader.api import Gradebook, MissingEntry

    columns = [(a, fn, gid) for a in assignments for fn, (gid, _) in grade_cells(a).items()]
    header = ["student"] + [fn for _, fn, _ in columns] + ["total"]
    rows = []
    with Gradebook(gradebook_url(course, gradebook)) as gb:
        for student in sorted(s.id for s in gb.students):
            row: list = [student]
            for a, _, gid in columns:
                try:
                    row.append(gb.find_grade(gid, a, a, student).score)
                except MissingEntry:
                    row.append(0.0)
            row.append(sum(row[1:]))
            rows.append(row)
    return header, rows


def print_table(header: list[str], rows: list[list]) -> None:
    rows = [[printable(row[0], 80), *row[1:]] for row in rows]
    widths = [max(len(str(h)), 7) for h in header]
    widths[0] = max([widths[0], *(len(str(row[0])) for row in rows)])
    print("  ".join(h.rjust(w) for h, w in zip(header, widths, strict=True)))
    for row in rows:
        cells = [str(row[0]).rjust(widths[0])]
        cells += [f"{v:g}".rjust(w) for v, w in zip(row[1:], widths[1:], strict=True)]
        print("  ".join(cells))


def write_csv(path: Path, header: list[str], rows: list[list]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow([csv_cell(v) for v in header])
        writer.writerows([csv_cell(v) for v in row] for row in rows)


def write_reports(
    course: Path,
    assignment: str,
    results: list,
    warnings: Sequence[str] = (),
    gradebook: str | None = None,
    notes: Sequence[tuple[str, str]] = (),
) -> Path:
    """grades.csv, flags.csv, nbgrader's export (of ``gradebook``, else the course's), a grade
    histogram and failure rates; ``warnings`` about the whole run are the first rows of flags.csv,
    then ``notes`` (student, line) from before grading (a file of the download not collected).
    Every cell is made inert (``untrusted.csv_cell``): ids and messages are students' text."""
    from nbgrader.api import Gradebook

    from autograder.instructor.plots import failure_rates, grade_histogram

    out = course / "reports" / assignment
    out.mkdir(parents=True, exist_ok=True)
    cells = grade_cells(assignment)
    # an instructor's correction in formgrader (nbgrader's manual score) wins, and is named
    try:
        with Gradebook(gradebook_url(course, gradebook)) as gb:
            by_hand = manual_scores(gb, assignment, [r.student for r in results if r.cells])
    except Exception as exc:  # noqa: BLE001 - the grades are still worth writing
        print(
            f"manual scores not read ({type(exc).__name__}: {printable(exc)}); grades.csv shows trusted ones"
        )
        by_hand = {}
    # lateness: as nbgrader keeps it (the penalty apart from the scores), and what is left
    header = ["student", *cells, "total", "status", "set by hand", "late by", "late penalty", "final"]
    header.append("partly right")  # which part earned what, for each function partly right
    rows = []
    totals = []
    for r in sorted(results, key=lambda r: r.student):
        if not r.cells:  # not graded (an invalid id, the grader failed): no score, not a zero
            rows.append([r.student, *([""] * (len(cells) + 1)), r.status, "", "", "", "", ""])
            continue
        hand = by_hand.get(r.student, {})
        scores = [hand.get(gid, r.cells.get(gid, {}).get("trusted", 0.0)) for gid, _ in cells.values()]
        manual = " ".join(fn for fn, (gid, _) in cells.items() if gid in hand)
        lateness = Lateness(**r.late)
        total = round(sum(scores), 2)  # shares are hundredths: no float residue in the total
        final = round(total - lateness.penalty, 2)
        rows.append(
            [r.student, *(f"{x:g}" for x in scores), f"{total:g}", r.status, manual]
            + [lateness.late_by, f"{lateness.penalty:g}", f"{final:g}"]
            + [_partly_right(cells, r.cells, hand)]
        )
        totals.append(final)
    write_csv(out / "grades.csv", header, rows)
    flags = [Flag("", assignment, "", None, None, w) for w in warnings]
    flags += [Flag(student, assignment, "", None, None, line) for student, line in notes]
    flags += [Flag(**f) for r in results for f in r.flags]
    flags += [Flag(r.student, assignment, "", None, r.total, note) for r in results for note in r.notes]
    write_flags(out / "flags.csv", flags)
    grade_histogram(out / "grade_histogram.png", totals, sum(p for _, p in cells.values()))
    rates = {
        fn: sum((r.cells.get(gid, {}).get("trusted") or 0) < points for r in results) / max(len(results), 1)
        for fn, (gid, points) in cells.items()
    }
    failure_rates(out / "failure_rates.png", rates)
    from nbgrader.plugins import CsvExportPlugin

    try:  # nbgrader's own export, in this process; the grades are already safe if it fails
        with Gradebook(gradebook_url(course, gradebook)) as gb:
            CsvExportPlugin(to=str(out / "nbgrader_export.csv")).export(gb)
        _make_inert(out / "nbgrader_export.csv")
    except Exception as exc:  # noqa: BLE001
        print(f"nbgrader export failed ({type(exc).__name__}: {printable(exc)}); grades.csv is complete")
    return out


def _partly_right(cells: dict[str, tuple[str, float]], graded: dict, by_hand: dict[str, float]) -> str:
    """``rnn_backward: gradients['dx'] 3/3, ..., gradients['dba'] 0/3; ...``: the points each
    part of a partly right function earned (a score set by hand is the instructor's)."""
    return "; ".join(
        f"{fn}: {graded[gid]['parts']}"
        for fn, (gid, _) in cells.items()
        if graded.get(gid, {}).get("parts") and gid not in by_hand
    )


def _make_inert(path: Path) -> None:
    """Rewrite nbgrader's export with every cell inert: it writes the ids as they are."""
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([csv_cell(v) for v in row] for row in rows)


def print_summary(results: list, out: Path) -> None:
    broken = [r for r in results if r.status != "ok" or r.notes or r.flags]
    graded = sum(1 for r in results if r.cells)  # an invalid id or a grader failure has none
    print(
        f"\n{graded} graded"
        + (f", {len(results) - graded} not graded" if graded < len(results) else "")
        + "; "
        + (f"{len(broken)} with something to report:" if broken else "nothing to report.")
    )
    for r in sorted(broken, key=lambda r: r.student):
        points = f"{r.total:g} points" if r.cells else "not graded"
        print(f"  {printable(r.student, 80)} ({r.status}, {points})")
        for note in r.notes:
            print(f"    - {printable(note)}")
        for f in r.flags:
            scores = f"nbgrader {f['nbgrader_score']}, trusted {f['trusted_score']}"
            print(f"    - {printable(f['grade_id'])}: {scores}: {printable(f['reason'])}")
    late = [r for r in results if r.late.get("penalty")]
    if late:
        print(f"{len(late)} late submission(s) charged a penalty (grades.csv: late by, late penalty, final):")
        for r in sorted(late, key=lambda r: r.student):
            lateness = Lateness(**r.late)
            print(f"  {printable(r.student, 80)}: late by {lateness.late_by}, {lateness.penalty:g} points")
    seconds = [r.seconds for r in results if r.seconds]
    if seconds:
        print(f"Mean time per submission in a worker: {sum(seconds) / len(seconds):.1f} s")
    print(
        f"Reports: {out} (grades.csv, flags.csv, nbgrader_export.csv, grade_histogram.png, failure_rates.png)"
    )
