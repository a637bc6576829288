"""Read a notebook and keep only its definitions: imports, functions, classes, constants.

Both the reference (``solutions/``) and student submissions are loaded this way.
Top-level statements that *do* something (training loops, prints, monkeypatches
such as ``np.allclose = ...``) are dropped, so loading is fast and a submission's
side effects never reach the grader.
"""

from __future__ import annotations

import ast
import functools
import json
import os
import stat
from pathlib import Path
from types import ModuleType

import nbformat
import numpy as np

from autograder.student.paths import release_notebook
from autograder.student.runner import exec_definitions

SKIP_TAG = "skip-when-grading"  # on the release's figure and full-training cells


class NotebookError(ValueError):
    """The file is not a notebook we can read; the message says what to do."""


# Bounds on a notebook, checked before it is parsed (a submission is anyone's file): the
# course's notebooks are about 60 kB, 60 cells and 10 levels deep; a student's with every
# output and a few figures stays far below. A 300 MB file, 100,000 nested brackets (a
# RecursionError in the parser), a 200 MB string or 200,000 cells (minutes of a worker)
# are refused in a few milliseconds instead.
MAX_NOTEBOOK_BYTES = 16 * 1024**2
MAX_DEPTH = 64  # nested JSON arrays and objects
MAX_STRING = 2 * 1024**2  # one JSON string: a source line, an output, an image
MAX_CELLS = 2000


def read_notebook(path: str | Path) -> nbformat.NotebookNode:
    """Read ``path`` as a v4 notebook, with a clear error for anything else."""
    path = Path(path)
    try:
        # O_NONBLOCK: a FIFO must not wait for a writer
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise NotebookError(f"{path}: no such file; check the submission path.") from None
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise NotebookError(f"{path}: not a regular file.")
        data = f.read(MAX_NOTEBOOK_BYTES + 1)
    return parse_notebook(data, str(path))


def parse_notebook(data: bytes, name: str = "notebook") -> nbformat.NotebookNode:
    """``data`` as a v4 notebook, within the bounds above; NotebookError says what is wrong."""
    problem = shape_problem(data)
    if problem:
        raise NotebookError(f"{name}: {problem}.")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise NotebookError(f"{name}: not UTF-8 text; is this really a .ipynb file?") from None
    try:
        raw = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        where = f", line {exc.lineno}" if isinstance(exc, json.JSONDecodeError) else ""
        raise NotebookError(
            f"{name}: not valid notebook JSON ({getattr(exc, 'msg', 'nested too deeply')}{where}); "
            "the file was probably edited outside Jupyter or truncated."
        ) from None
    cells = raw.get("cells") if isinstance(raw, dict) else None
    if isinstance(cells, list) and len(cells) > MAX_CELLS:
        raise NotebookError(f"{name}: {len(cells):,} cells, over the limit of {MAX_CELLS:,}.")
    try:
        return nbformat.reads(text, as_version=4)
    except Exception as exc:  # nbformat raises several kinds
        raise NotebookError(f"{name}: not a Jupyter notebook ({str(exc)[:200]}).") from None


def shape_problem(data: bytes) -> str | None:
    """Why JSON text ``data`` is beyond the bounds (size, nesting, longest string), or None.

    Found without parsing, in bounded memory: a parser would first recurse or allocate."""
    if len(data) > MAX_NOTEBOOK_BYTES:
        return f"larger than the limit of {MAX_NOTEBOOK_BYTES // 1024**2} MB"
    depth, longest = _json_shape(data)
    if depth > MAX_DEPTH:
        return f"nested more than {MAX_DEPTH} levels deep (at least {depth})"
    if longest > MAX_STRING:
        return f"holds a string of {longest / 1024**2:.1f} MB, over the limit of {MAX_STRING // 1024**2} MB"
    return None


def _json_shape(data: bytes, chunk: int = 1 << 20) -> tuple[int, int]:
    """(deepest nesting, longest string in bytes) of JSON text, in chunks of ``chunk`` bytes.

    Backslash pairs, then escaped quotes, are blanked first: every quote left delimits a
    string, and a bracket counts only outside strings (an even number of quotes before it).
    """
    text = data.replace(b"\\\\", b"__").replace(b'\\"', b"__")
    depth = deepest = longest = 0
    open_at: int | None = None  # where the string still open at the end of a chunk began
    for start in range(0, len(text), chunk):
        a = np.frombuffer(text, np.uint8, count=min(chunk, len(text) - start), offset=start)
        is_quote = a == ord('"')
        quotes = np.flatnonzero(is_quote) + start
        if open_at is not None:
            quotes = np.concatenate(([open_at], quotes))
        closes = quotes[1::2]
        if len(closes):
            longest = max(longest, int((closes - quotes[0::2][: len(closes)]).max()) - 1)
        inside_before = open_at is not None
        open_at = int(quotes[-1]) if len(quotes) % 2 else None
        if open_at is not None:
            longest = max(longest, start + len(a) - open_at - 1)
        outside = (np.cumsum(is_quote, dtype=np.int32) & 1) == int(inside_before)
        # "[" and "{" are 0x5B and 0x7B, "]" and "}" 0x5D and 0x7D: one mask each
        low = a & 0xDF
        steps = (low == ord("[")).astype(np.int8) - (low == ord("]"))
        levels = depth + np.cumsum(np.where(outside, steps, 0), dtype=np.int64)
        if len(levels):
            deepest, depth = max(deepest, int(levels.max())), int(levels[-1])
    return deepest, longest


def _is_definition(node: ast.stmt) -> bool:
    if isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef)):
        return True
    if isinstance(node, (ast.Assign, ast.AnnAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        if not all(isinstance(t, ast.Name) for t in targets) or node.value is None:
            return False  # attribute/subscript targets are patches, not definitions
        return not _runs_code(node.value)
    return False


def _runs_code(node: ast.AST) -> bool:
    """True if evaluating ``node`` calls something (a lambda's body runs later, not now).
    A walk with a stack, not recursion: ``1+1+...`` a thousand deep parses, and would
    overflow a recursive walk in the grader's process."""
    stack = [node]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Call):
            return True
        if not isinstance(node, ast.Lambda):
            stack.extend(ast.iter_child_nodes(node))
    return False


@functools.cache
def skipped_when_grading(assignment: str) -> frozenset[str]:
    """The sources of the release's cells tagged ``skip-when-grading``: the course's own
    code that draws figures or trains on the full data, never graded (and the only
    place matplotlib is imported)."""
    path = release_notebook(assignment)
    if not path.exists():
        return frozenset()
    nb = nbformat.read(path, as_version=4)
    return frozenset(c.source for c in nb.cells if SKIP_TAG in c.get("metadata", {}).get("tags", []))


def definitions(nb: nbformat.NotebookNode, skip: frozenset[str] = frozenset()) -> list[str]:
    """The imports, defs and constants of every code cell that parses, in order.

    One string per statement, so that the loader can run them one at a time and
    a failing import does not hide the functions after it. A cell with a syntax
    error is skipped as a whole (its functions will be reported missing), and
    IPython magics/shell lines are ignored. Cells whose source is in ``skip`` are left out.
    """
    chunks = []
    for cell in nb.cells:
        # nbformat only warns about a cell that is not a dict or whose source is not text
        source = cell.get("source") if isinstance(cell, dict) else None
        if isinstance(source, str) and cell.get("cell_type") == "code" and source not in skip:
            if source in release_cells():
                chunks += _cached_definitions(source)
            elif len(source) > PARSED_APART_CHARS:
                chunks += _definitions_apart(source)
            else:
                chunks += _cell_definitions(source)
    return chunks


# Python's parser needs memory that grows with the square of a dotted name's length
# (``import a.a.a...b``: 16 kB of it takes 70 MB, 60 kB 1 GB, 400 kB more than a laptop
# has). A student's cell longer than this is parsed in a child process under a memory
# and CPU cap: the course's cells are under 2 kB, and nothing a student's parse costs
# can reach the grader or the rest of the machine.
PARSED_APART_CHARS = 16 * 1024
PARSE_MEMORY_BYTES = 512 * 1024**2
PARSE_CPU_SECONDS = 20


def _definitions_apart(source: str) -> tuple[str, ...]:
    """``_cell_definitions(source)``, computed in a forked child with capped memory and CPU;
    a cell the child cannot parse within them is skipped, as one that does not parse."""
    import resource

    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: no return from here, whatever happens
        code = 1
        try:
            os.close(read_end)
            with open("/proc/self/statm", encoding="ascii") as f:
                used = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
            _, hard = resource.getrlimit(resource.RLIMIT_AS)
            cap = used + PARSE_MEMORY_BYTES
            cap = cap if hard == resource.RLIM_INFINITY else min(cap, hard)
            resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
            resource.setrlimit(resource.RLIMIT_CPU, (PARSE_CPU_SECONDS, PARSE_CPU_SECONDS + 1))
            data = json.dumps(_cell_definitions(source)).encode()
            with os.fdopen(write_end, "wb") as f:
                f.write(data)
            code = 0
        finally:
            os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as f:
        data = f.read()
    _, status = os.waitpid(pid, 0)
    try:
        chunks = json.loads(data) if status == 0 else None
    except ValueError:  # the child died while writing
        chunks = None
    if not isinstance(chunks, list) or not all(isinstance(c, str) for c in chunks):
        return ()
    return tuple(chunks)


@functools.cache
def release_cells() -> frozenset[str]:
    """The sources of every code cell of the course's releases: the cells (checks, helpers,
    imports) that are the same in every student's notebook. Only their definitions are
    kept once parsed, so what a class hands in never grows the cache."""
    from autograder.student.specs import ASSIGNMENTS

    sources: set[str] = set()
    for assignment in ASSIGNMENTS:
        path = release_notebook(assignment)
        if path.exists():
            sources |= {c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"}
    return frozenset(sources)


def _cell_definitions(source: str) -> tuple[str, ...]:
    """The definitions of one code cell's ``source``."""
    text = "\n".join(ln for ln in source.splitlines() if not ln.lstrip().startswith(("%", "!")))
    try:
        tree = ast.parse(text)
    # ValueError: a null byte. RecursionError and MemoryError: an expression nested some
    # 3,000 deep (``x[0][0]...``, ``---...1``), the parser's own limits, which IPython
    # meets too. Any of them raised here would stop the trusted verify of the notebook.
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return ()
    lines = text.split("\n")  # the lines ast numbers (``splitlines`` also splits at \f, \v...)
    encoded: dict[int, bytes] = {}  # each line encoded once: "x=1;" * 100_000 is one line
    chunks = []
    for node in tree.body:
        if _is_definition(node):
            chunks.append(_segment(lines, encoded, node))
    return tuple(chunks)


# the release's cells, each parsed once per process (``release_cells``)
_cached_definitions = functools.cache(_cell_definitions)


def _segment(lines: list[str], encoded: dict[int, bytes], node: ast.stmt) -> str:
    """The source of a top-level statement, as ``ast.get_source_segment(..., padded=True)``
    gives it, without splitting the cell's text again for each statement (``encoded``:
    the lines already encoded, by index; ast's offsets count UTF-8 bytes)."""
    first, last = node.lineno - 1, node.end_lineno - 1
    for i in (first, last):
        if i not in encoded:
            encoded[i] = lines[i].encode()
    end = encoded[last]
    if first == last:
        return end[node.col_offset : node.end_col_offset].decode()
    padding = "".join(c if c in "\f\t" else " " for c in encoded[first][: node.col_offset].decode())
    head = padding + encoded[first][node.col_offset :].decode()
    return "\n".join([head, *lines[first + 1 : last], end[: node.end_col_offset].decode()])


def load_module(chunks: list[str], name: str) -> ModuleType:
    """Execute definitions in a fresh module namespace (trusted sources only)."""
    module = ModuleType(name)
    errors = exec_definitions(chunks, module.__dict__, tag=name)
    if errors:
        raise NotebookError(f"{name}: definitions failed to load: {'; '.join(errors)}")
    return module
