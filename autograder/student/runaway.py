"""Under the grader, a function stopped for running too long fails at once afterwards.

When a cell runs past its time limit, nbclient interrupts the kernel: a
``KeyboardInterrupt`` inside whatever was running. Without this module every later
cell that calls the same function (its self-check, its grade cell, the functions
built on it) would wait out its own limit again: seven cells, seven minutes. After
such an interrupt, the hook below finds the innermost function the notebook defined
that was running, and replaces it in the notebook's namespace by one that raises at
once, saying which function ran too long. Only installed while nbgrader grades
(``NBGRADER_EXECUTION``); a student's own Ctrl-C never replaces anything.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any


class StoppedFunction(RuntimeError):
    """Raised by a function that was stopped earlier for running too long."""


def stopped(name: str) -> Callable[..., Any]:
    """What ``name`` becomes once it has been stopped: it raises at once."""

    def stand_in(*args: Any, **kwargs: Any) -> Any:
        raise StoppedFunction(
            f"{name} was stopped in an earlier cell because it ran longer than the time limit "
            f"(an endless loop?). It is not run again, so the rest of the notebook can be graded; "
            f"fix {name} and run the notebook again."
        )

    stand_in.__name__ = stand_in.__qualname__ = name
    return stand_in


def culprit(tb: types.TracebackType | None, namespace: dict[str, Any]) -> str | None:
    """The name of the innermost function of ``namespace`` with a frame in ``tb``."""
    codes = {fn.__code__: name for name, fn in namespace.items() if isinstance(fn, types.FunctionType)}
    found = None
    while tb is not None:
        found = codes.get(tb.tb_frame.f_code, found)
        tb = tb.tb_next
    return found


def install(shell: Any) -> None:
    """Register the hook with the IPython ``shell`` running the notebook."""

    def after_cell(result: Any) -> None:
        error = getattr(result, "error_in_exec", None)
        if isinstance(error, KeyboardInterrupt):
            name = culprit(error.__traceback__, shell.user_ns)
            if name:
                shell.user_ns[name] = stopped(name)

    shell.events.register("post_run_cell", after_cell)
