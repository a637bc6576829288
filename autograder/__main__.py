"""Command line: ``python -m autograder {demo,verify,grade,export,extend,vectors,release,certs} ...``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from autograder.instructor.certs import DAYS as CERT_DAYS
from autograder.instructor.certs import ENV as TLS_ENV
from autograder.instructor.limits import CELL_SECONDS, FUNCTION_SECONDS, MEMORY_MB, NOTEBOOK_SECONDS, WORKERS
from autograder.student.specs import ASSIGNMENTS

DB_HELP = (
    "the course gradebook, any SQLAlchemy URL, e.g. postgresql://user:password@host/grades "
    "(default: CourseDirectory.db_url in nbgrader_config.py, else gradebook.db in the course)"
)
TLS_DEFAULT = "~/.config/rnn-course-autograder/tls"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="grade a throwaway class end to end and show the result")
    demo.add_argument("--out", type=Path, help="keep the demo course here (default: a temp dir)")
    demo.add_argument("--db-url", help=DB_HELP)

    verify = sub.add_parser("verify", help="trusted verify of autograded submissions")
    verify.add_argument("assignment", choices=ASSIGNMENTS)
    verify.add_argument("--student", action="append", help="only these students (repeatable)")
    verify.add_argument(
        "--course", type=Path, default=Path.cwd(), help="course directory (default: the current one)"
    )
    verify.add_argument("--db-url", help=DB_HELP)

    grade = sub.add_parser(
        "grade", help="grade a class: autograde, trusted verify, feedback, export (parallel, resumable)"
    )
    grade.add_argument("assignment", choices=ASSIGNMENTS)
    grade.add_argument(
        "--course", type=Path, default=Path.cwd(), help="course directory (default: the current one)"
    )
    grade.add_argument("--student", action="append", help="only these students (repeatable)")
    grade.add_argument(
        "--workers", type=int, default=WORKERS, help=f"parallel workers (default: two per core, {WORKERS})"
    )
    grade.add_argument("--force", action="store_true", help="regrade students already graded")
    grade.add_argument(
        "--zip", action="store_true", help="first unpack downloaded/<assignment>/archive/*.zip"
    )
    grade.add_argument(
        "--cell-timeout", type=int, default=CELL_SECONDS, help=f"seconds per notebook cell ({CELL_SECONDS})"
    )
    grade.add_argument(
        "--notebook-timeout",
        type=int,
        default=NOTEBOOK_SECONDS,
        help=f"seconds per notebook under nbgrader ({NOTEBOOK_SECONDS})",
    )
    grade.add_argument(
        "--function-timeout",
        type=float,
        default=FUNCTION_SECONDS,
        help=f"seconds of CPU per function in the trusted verify ({FUNCTION_SECONDS:g})",
    )
    grade.add_argument(
        "--memory-mb", type=int, default=MEMORY_MB, help=f"memory of a submission's kernel ({MEMORY_MB})"
    )

    grade.add_argument(
        "--scheduler",
        metavar="tls://HOST:8786",
        help="grade on this Dask cluster (workers: this package, bubblewrap, --nthreads 1; docs/scaling.md)",
    )
    grade.add_argument(
        "--tls-dir",
        metavar="DIR",
        help="the grader's certificates for --scheduler tls://, made by `certs` "
        f"(default: ${TLS_ENV}, else {TLS_DEFAULT})",
    )
    grade.add_argument(
        "--insecure",
        action="store_true",
        help="allow a plain tcp:// scheduler: unauthenticated, anyone reaching it runs code on the workers",
    )
    grade.add_argument("--db-url", help=DB_HELP)
    grade.add_argument(
        "--unsafe-no-sandbox",
        action="store_true",
        help="grade even without bubblewrap (student code can then reach the course; said in the reports)",
    )

    export = sub.add_parser(
        "export",
        help="scores for the LMS: a Canvas gradebook import (--canvas), else a generic CSV",
    )
    export.add_argument(
        "--canvas",
        type=Path,
        metavar="GRADEBOOK_EXPORT.csv",
        help="your Canvas gradebook export (Grades > Export): the roster to fill in",
    )
    export.add_argument("--out", type=Path, required=True, help="the CSV to write")
    export.add_argument(
        "--assignment",
        action="append",
        choices=ASSIGNMENTS,
        help="only these assignments (repeatable; default: all)",
    )
    export.add_argument(
        "--course", type=Path, default=Path.cwd(), help="course directory (default: the current one)"
    )
    export.add_argument("--db-url", help=DB_HELP)

    extend = sub.add_parser(
        "extend", help="give a student more time on an assignment (nbgrader's extension, in the gradebook)"
    )
    extend.add_argument("assignment", choices=ASSIGNMENTS)
    extend.add_argument("student")
    extend.add_argument("--days", type=float, default=0.0)
    extend.add_argument("--hours", type=float, default=0.0)
    extend.add_argument(
        "--course", type=Path, default=Path.cwd(), help="course directory (default: the current one)"
    )
    extend.add_argument("--db-url", help=DB_HELP)

    sub.add_parser("vectors", help="regenerate the public self-check vectors from solutions/")

    certs = sub.add_parser(
        "certs", help="make the TLS certificates of a Dask grading cluster (a CA, scheduler, worker, client)"
    )
    certs.add_argument("--out", type=Path, help=f"(default: ${TLS_ENV}, else {TLS_DEFAULT})")
    certs.add_argument(
        "--days", type=int, default=CERT_DAYS, help=f"days they are valid (default: {CERT_DAYS}, a term)"
    )
    certs.add_argument("--force", action="store_true", help="replace the certificates already there")

    release = sub.add_parser(
        "release", help="write the student bundle (notebooks, data, checks; no solutions)"
    )
    release.add_argument("--out", type=Path, default=Path("dist/student"), help="(default: dist/student)")
    release.add_argument(
        "--assignment",
        action="append",
        choices=ASSIGNMENTS,
        help="bundle only this assignment (repeatable; default: all). assign_5b provides 5a's "
        "rnn_forward: release it after 5a's deadline",
    )

    args = parser.parse_args(argv)
    if args.command == "demo":
        from autograder.instructor.demo import run_demo

        return run_demo(args.out, args.db_url)
    if args.command == "verify":
        from autograder.instructor.report import verify_course

        return verify_course(args.course.resolve(), args.assignment, args.student, args.db_url)
    if args.command == "grade":
        from autograder.instructor.grade import Options
        from autograder.instructor.grade import main as grade_main

        opts = Options(
            workers=args.workers,
            force=args.force,
            cell_timeout=args.cell_timeout,
            notebook_timeout=args.notebook_timeout,
            memory_mb=args.memory_mb,
            function_timeout=args.function_timeout,
            unsafe_no_sandbox=args.unsafe_no_sandbox,
            scheduler=args.scheduler,
            db_url=args.db_url,
            tls_dir=args.tls_dir,
            insecure=args.insecure,
        )
        if opts.scheduler:
            from autograder.instructor.cluster import ClusterError, cluster_security

            try:  # refused here, before anything is computed or graded
                cluster_security(opts)
            except ClusterError as e:
                print(f"grade: {e}", file=sys.stderr)
                return 2
        return grade_main(args.course, args.assignment, opts, args.student, args.zip)
    if args.command == "export":
        from autograder.instructor.export import main as export_main

        assignments = args.assignment or list(ASSIGNMENTS)
        return export_main(args.course.resolve(), args.out, assignments, args.canvas, args.db_url)
    if args.command == "extend":
        from autograder.instructor.late import main_extend

        return main_extend(
            args.course.resolve(), args.assignment, args.student, args.days, args.hours, args.db_url
        )
    if args.command == "release":
        from autograder.instructor.release import main as release_main

        return release_main(args.out, tuple(args.assignment or ASSIGNMENTS))
    if args.command == "certs":
        from autograder.instructor.certs import default_dir
        from autograder.instructor.certs import main as certs_main

        return certs_main(args.out or default_dir(), args.days, args.force)
    if args.command == "vectors":
        from autograder.instructor.vectors import write_vectors

        for assignment in ASSIGNMENTS:
            print(f"wrote {write_vectors(assignment)}")
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
