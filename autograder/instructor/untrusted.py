"""Student-controlled text made inert where the grader writes it, and the student id rule.

Students control much of what the grader prints and writes: exception messages and outputs
quoted in messages, the names of the files they hand in, and their ids (folder names,
or names in an LMS download). That text may hold newlines that forge lines in the
instructor's summary, terminal escape sequences, or a spreadsheet formula. Everything the
grader prints or puts in a CSV cell goes through ``printable`` or ``csv_cell``; every id
goes through ``id_problem`` before it reaches nbgrader, the gradebook or a file name.
"""

from __future__ import annotations

import re
import shlex
import unicodedata

# Unicode categories that do not print as themselves: control characters (C0, DEL, C1,
# including ESC, CR, LF), format characters (bidirectional overrides, zero-width
# characters), line and paragraph separators, and lone surrogates (from undecodable file
# names; they cannot even be written to a UTF-8 terminal).
_UNPRINTABLE = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(ch: str) -> str:
    if ch in _NAMED:
        return _NAMED[ch]
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def printable(text: object, limit: int = 2000) -> str:
    """``text`` as one inert line: every character that would not print as itself (a
    newline, a carriage return, an escape sequence, a bidirectional override) is shown
    as its escape (``\\n``, ``\\x1b``), so student text can neither start a line of its
    own nor drive the terminal; longer than ``limit`` characters, it is cut and says so."""
    text = str(text)
    cut = len(text) - limit
    if cut > 0:
        text = text[:limit]
    out = "".join(_escape(ch) if unicodedata.category(ch) in _UNPRINTABLE else ch for ch in text)
    return out + (f"... ({cut} more characters)" if cut > 0 else "")


# What starts a formula in Excel, LibreOffice or Google Sheets (OWASP's list, plus the
# full-width forms some locales accept), after any leading spaces.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def csv_cell(value: object) -> object:
    """A CSV cell a spreadsheet shows as text: a string that could start a formula gets a
    leading ``'`` (a plain number is left alone), and no control character survives
    (whoever ``cat``s the file gets no escape sequence)."""
    if not isinstance(value, str):
        return value
    text = printable(value, limit=10_000)
    if text.lstrip(" ").startswith(_FORMULA_START) and not _NUMBER.fullmatch(text):
        return "'" + text
    return text


# --- student ids ----------------------------------------------------------------------

MAX_ID_CHARS = 64
MAX_ID_BYTES = 200
ID_RULE = (
    f"a student id has 1 to {MAX_ID_CHARS} characters (at most {MAX_ID_BYTES} bytes in UTF-8), "
    "no control or invisible characters, no / or \\, none of the glob characters * ? [ ], "
    'no space at either end, and is neither "." nor ".."'
)


def id_problem(student: str) -> str | None:
    """What is wrong with ``student`` as an id, or None if it may be graded.

    The rule (``ID_RULE``) is what every place an id reaches takes safely: nbgrader's
    ``Student.id`` column holds 128 characters (PostgreSQL enforces it, SQLite does not);
    the id names folders and files (``grading/<a>/<id>.json``; 255 bytes a name); nbgrader
    matches ids as glob patterns and strips spaces at their ends; a separator or ``..``
    would leave ``submitted/``. 64 characters is also the longest local part of an
    e-mail address, so LMS logins, e-mail names and JupyterHub user names all fit. Ids
    that start like an option (``-rf``) or a formula (``=1+1``) are valid: they never
    reach a command line, and every CSV cell is made inert."""
    if not student:
        return "the id is empty"
    if len(student) > MAX_ID_CHARS or len(student.encode("utf-8", "surrogatepass")) > MAX_ID_BYTES:
        return f"the id is {len(student)} characters long; at most {MAX_ID_CHARS} are allowed"
    if any(unicodedata.category(ch) in _UNPRINTABLE for ch in student):
        return "the id holds control or invisible characters (a newline, an escape sequence, ...)"
    if student in (".", "..") or any(ch in student for ch in "/\\"):
        return "the id is a path (., .., / or \\), not a name"
    if any(ch in student for ch in "*?[]"):
        return "the id holds a glob character (* ? [ ]), which nbgrader would treat as a pattern"
    if student != student.strip():
        return "the id starts or ends with a space (nbgrader would strip it and grade another id)"
    return None


def student_option(student: str) -> str:
    """``--student=<id>`` quoted for a shell: an id such as ``-rf`` is then never read as an
    option, by argparse or by the shell."""
    return shlex.quote(f"--student={student}")
