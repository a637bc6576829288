"""The student side: what a student's notebook, a grading kernel and a sandbox import.

The checks (``checks.check``), how they judge and what they say (``judge``), how a
function is run (``runner``, ``runaway``), the numerical gradient (``gradcheck``), the
assignments' cases (``specs``, ``cases``, ``assignments/``), where the course's files are
(``paths``) and the public self-check vectors (``vectors/``). It holds no solution text and
never imports ``autograder.instructor`` (pyproject.toml's import-linter contract); it is
shipped whole: in the student wheel and, read-only, in every sandbox.
"""
