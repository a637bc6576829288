"""Command line: ``python -m autograder {demo,verify,grade,vectors} ...``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from autograder.paths import ASSIGNMENTS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="grade a throwaway class end to end and show the result")
    demo.add_argument("--out", type=Path, help="keep the demo course here (default: a temp dir)")

    verify = sub.add_parser("verify", help="trusted verify of autograded submissions")
    verify.add_argument("assignment", choices=ASSIGNMENTS)
    verify.add_argument("--student", action="append", help="only these students (repeatable)")
    verify.add_argument(
        "--course", type=Path, default=Path.cwd(), help="course directory (default: the current one)"
    )

    sub.add_parser("vectors", help="regenerate the public self-check vectors from solutions/")

    args = parser.parse_args(argv)
    if args.command == "demo":
        from autograder.demo import run_demo

        return run_demo(args.out)
    if args.command == "verify":
        from autograder.report import verify_course

        return verify_course(args.course.resolve(), args.assignment, args.student)
    if args.command == "vectors":
        from autograder.vectors import write_vectors

        for assignment in ASSIGNMENTS:
            print(f"wrote {write_vectors(assignment)}")
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
