"""nbgrader preprocessors the course plugs in through nbgrader_config.py."""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path

import bleach
import jinja2
import jsonschema
import nbformat
import nbgrader.preprocessors
from bleach.css_sanitizer import CSSSanitizer
from nbconvert.exporters import HTMLExporter
from nbgrader.preprocessors import ClearHiddenTests, Execute, NbGraderPreprocessor
from traitlets import Integer

from autograder.instructor.notebook import skipped_when_grading

SKIPPED = "Not run when grading: this cell only trains on the full data or draws a figure.\n"


# Output kept while a notebook runs, in characters of every kind (streams, errors, images,
# JSON, HTML, updated displays): per cell, per notebook, and what a grade cell always
# keeps for the checks' messages, even once the notebook's share is spent. A message
# over the limit is dropped as it arrives, so the grader holds at most this much.
MAX_CELL_OUTPUT = 1_000_000
MAX_NOTEBOOK_OUTPUT = 5_000_000
GRADE_CELL_OUTPUT = 20_000
CUT = (
    f"\n[output limit: the rest of this cell's output was dropped while it ran (at most "
    f"{MAX_CELL_OUTPUT:,} characters a cell, {MAX_NOTEBOOK_OUTPUT:,} a notebook)]\n"
)
# What the kernel is sent of a grade cell: the hidden tests' code, not their markers (the
# kernel's history and hooks see every source it runs).
_HIDDEN_MARKER = re.compile(r"^[ \t]*#+[ \t]*(BEGIN|END) HIDDEN TESTS[ \t]*(\r?\n|\Z)", re.M)


class ExecuteGraded(Execute):
    """nbgrader's ``Execute``, minus the course's figure and full-training cells, with
    output bounded while it streams and hidden-test markers kept from the kernel.

    A cell is skipped only when its source is exactly that of such a release cell (nbgrader
    has already restored locked cells' sources): what a student writes always runs, and a
    tag a student adds changes nothing. This keeps matplotlib out of grading.
    """

    def reset_execution_trackers(self) -> None:
        super().reset_execution_trackers()
        self._notebook_left = MAX_NOTEBOOK_OUTPUT
        self._cell_spent: dict[int, int] = {}
        self._cut: set[int] = set()  # cells whose output was cut (said once each)

    def preprocess_cell(self, cell, resources, index):
        assignment = resources.get("nbgrader", {}).get("assignment", "")
        if cell.cell_type == "code" and cell.source in skipped_when_grading(assignment):
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=SKIPPED)]
            cell.execution_count = None
            return cell, resources
        source = cell.source
        cell.source = _HIDDEN_MARKER.sub("", source)
        try:
            cell, resources = super().preprocess_cell(cell, resources, index)
        finally:
            cell.source = source  # the autograded notebook keeps the cell as it was
        return cell, resources

    def output(self, outs, msg, display_id, cell_index):
        size, left = _size(msg.get("content")), self._left(cell_index)
        if size <= left:
            self._charge(cell_index, size)
            return super().output(outs, msg, display_id, cell_index)
        content, out = msg["content"], None
        if msg["msg_type"] == "stream" and left > 0:  # the head of a long text
            text = str(content.get("text", ""))[:left]
            out = super().output(outs, {**msg, "content": {**content, "text": text}}, None, cell_index)
        elif msg["msg_type"] == "error" and not any(o.get("output_type") == "error" for o in outs):
            # nbgrader scores a grade cell by whether it shows an error: shortened, never dropped
            ename, evalue = str(content.get("ename"))[:200], str(content.get("evalue"))[:2000]
            short = {"ename": ename, "evalue": evalue, "traceback": [f"{ename}: {evalue}"]}
            out = super().output(outs, {**msg, "content": short}, None, cell_index)
        self._charge(cell_index, left)
        if cell_index not in self._cut:
            self._cut.add(cell_index)
            outs.append(nbformat.v4.new_output("stream", name="stderr", text=CUT))
        return out

    def _left(self, cell_index: int) -> int:
        """Characters this cell may still add: its own share, the notebook's, and a grade
        cell's reserve (its checks' messages reach the feedback whatever came before)."""
        spent = self._cell_spent.get(cell_index, 0)
        grade = self.nb.cells[cell_index].get("metadata", {}).get("nbgrader", {}).get("grade")
        reserve = GRADE_CELL_OUTPUT - spent if grade else 0
        return max(0, min(MAX_CELL_OUTPUT - spent, max(self._notebook_left, reserve)))

    def _update_display_id(self, display_id, msg):
        size = _size(msg.get("content"))
        if size <= self._notebook_left:  # else the display keeps what it showed
            self._notebook_left -= size
            super()._update_display_id(display_id, msg)

    def handle_comm_msg(self, outs, msg, cell_index):
        """Widgets' messages are ignored: grading shows no widget, and their state would be
        one more store a kernel could fill."""

    def _charge(self, cell_index: int, size: int) -> None:
        self._cell_spent[cell_index] = self._cell_spent.get(cell_index, 0) + size
        self._notebook_left = max(0, self._notebook_left - size)


def _size(value: object) -> int:
    """Characters of the strings in a message's content (keys included), without recursion."""
    total, todo = 0, [value]
    while todo:
        item = todo.pop()
        if isinstance(item, str):
            total += len(item)
        elif isinstance(item, dict):
            todo += item.keys()
            todo += item.values()
        elif isinstance(item, (list, tuple)):
            todo += item
        else:
            total += 8
    return total


class _CompiledSchemas:
    """``jsonschema.validate`` with each schema checked and compiled once, for nbgrader's
    cell-metadata validator, which calls ``jsonschema.validate`` for every cell: checking
    the schema itself again each time was most of its cost (about a tenth of a second of
    CPU per notebook, twice per autograde). The same checks, the same errors."""

    ValidationError = jsonschema.ValidationError

    def __init__(self) -> None:
        self._validators: dict[str, object] = {}

    def validate(self, instance, schema) -> None:
        key = json.dumps(schema, sort_keys=True)
        validator = self._validators.get(key)
        if validator is None:
            cls = jsonschema.validators.validator_for(schema)
            cls.check_schema(schema)
            validator = self._validators[key] = cls(schema)
        error = jsonschema.exceptions.best_match(validator.iter_errors(instance))
        if error is not None:
            raise error


_SCHEMAS = _CompiledSchemas()


class CheckCellMetadata(nbgrader.preprocessors.CheckCellMetadata):
    """nbgrader's ``CheckCellMetadata`` (sanitizing and at the end of autograde), with the
    metadata schema compiled once (``_CompiledSchemas``)."""

    def preprocess(self, nb, resources):
        from nbgrader.nbgraderformat import common

        original, common.jsonschema = common.jsonschema, _SCHEMAS
        try:
            return super().preprocess(nb, resources)
        finally:
            common.jsonschema = original


class HideHiddenTests(ClearHiddenTests):
    """Feedback: remove the ``### BEGIN/END HIDDEN TESTS`` regions from the autograded
    notebook before it is rendered; the cells' outputs (the checks' messages) stay."""


class CapOutputSize(NbGraderPreprocessor):
    """Autograde: cut any text output (a stream, a text MIME type, an exception's message
    or traceback) longer than ``max_chars``; images and other data are bounded while the
    notebook runs (``ExecuteGraded``).

    nbgrader's ``LimitOutput`` counts lines, so one line of megabytes gets through
    into the autograded notebook, the feedback HTML and the instructor's browser.
    """

    max_chars = Integer(20_000, help="longest text kept per output (-1: no limit)").tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        if self.max_chars < 0 or cell.cell_type != "code":
            return cell, resources
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream":
                output.text = self._cut(output.text)
            if output.get("output_type") == "error":  # an exception's message and traceback too
                output.evalue = self._cut(str(output.get("evalue", "")))
                traceback = [str(line) for line in output.get("traceback", [])]
                if sum(map(len, traceback)) > self.max_chars:
                    output.traceback = [self._cut("\n".join(traceback))]
            for mime, value in output.get("data", {}).items():
                if mime.startswith("text/") and isinstance(value, str):
                    output.data[mime] = self._cut(value)
        return cell, resources

    def _cut(self, text: str) -> str:
        if len(text) <= self.max_chars:
            return text
        return text[: self.max_chars] + f"\n... [{len(text) - self.max_chars:,} more characters cut]\n"


class _CompiledTemplates(jinja2.BytecodeCache):
    """Compiled jinja templates kept in memory, keyed by name and source checksum."""

    def __init__(self) -> None:
        self.store: dict[str, bytes] = {}

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        if bucket.key in self.store:
            bucket.bytecode_from_string(self.store[bucket.key])

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self.store[bucket.key] = bucket.bytecode_to_string()


_TEMPLATES = _CompiledTemplates()


class FeedbackExporter(HTMLExporter):
    """nbconvert's HTML exporter, keeping its compiled templates for the next feedback:
    nbgrader makes a new exporter for each, and compiling the templates again was a
    quarter of the time a feedback took."""

    def _create_environment(self):
        environment = super()._create_environment()
        environment.bytecode_cache = _TEMPLATES
        environment.filters["clean_html"] = clean_feedback_html
        return environment

    def from_notebook_node(self, nb, resources=None, **kw):
        """``HTMLExporter.from_notebook_node`` (nbconvert 7), whose last step parses the
        whole page with BeautifulSoup for two accessibility edits: alt text on images
        without one, and focusable cells of the JupyterLab template. The feedback's
        template has no such cell and its images carry alt text, so that parse (over half
        of a feedback's time) changed nothing; it is done only when an edit applies."""
        from nbconvert.exporters.templateexporter import TemplateExporter
        from nbconvert.filters.highlight import Highlight2HTML
        from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter

        langinfo = nb.metadata.get("language_info", {})
        lexer = langinfo.get("pygments_lexer", langinfo.get("name", None))
        highlight_code = self.filters.get("highlight_code", Highlight2HTML(pygments_lexer=lexer, parent=self))
        highlight_code = _Remembered(highlight_code, lexer)
        resources = self._init_resources(resources)
        filter_data_type = WidgetsDataTypeFilter(
            notebook_metadata=self._nb_metadata, parent=self, resources=resources
        )
        self.register_filter("highlight_code", highlight_code)
        self.register_filter("filter_data_type", filter_data_type)
        html, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
        if "jp-Notebook" not in html and not _IMG_WITHOUT_ALT.search(html):
            return html, resources
        from bs4 import BeautifulSoup  # nbconvert's edits, as it makes them

        soup = BeautifulSoup(html, features="html.parser")
        for elem in soup.select("img:not([alt])"):
            elem.attrs["alt"] = "No description has been provided for this image"
        for elem in soup.select(".jp-Notebook div.jp-Cell-inputWrapper"):
            elem.attrs["tabindex"] = "0"
        for elem in soup.select(".jp-Notebook div.jp-OutputArea-output"):
            elem.attrs["tabindex"] = "0"
        return str(soup), resources

    @jinja2.pass_context
    def markdown2html(self, context, source):
        """nbconvert's, remembered: most markdown cells (the course's text) are the same in
        every student's feedback. A cell with attachments is rendered each time."""
        if context.get("cell", {}).get("attachments"):
            return super().markdown2html(context, source)
        # the notebook's folder (a scratch folder of its own for each submission) matters
        # only to images embedded from files
        path = context.get("resources", {}).get("metadata", {}).get("path", "") if self.embed_images else ""
        key = ("markdown", path, self.embed_images, self.anchor_link_text, self.exclude_anchor_links, source)
        return _remember(key, lambda: super(FeedbackExporter, self).markdown2html(context, source))


# Rendered HTML of code and markdown cells, for every feedback of a worker: the course's own
# cells render the same for every student. Bounded; the oldest are forgotten first.
_RENDERED: dict[tuple, str] = {}
_RENDERED_MAX = 4096


def _remember(key: tuple, render) -> str:
    if key in _RENDERED:
        return _RENDERED[key]
    if len(_RENDERED) >= _RENDERED_MAX:
        del _RENDERED[next(iter(_RENDERED))]
    _RENDERED[key] = html = render()
    return html


class _Remembered:
    """A ``highlight_code`` filter (nbconvert's ``Highlight2HTML``) whose results are kept
    (``_remember``), keyed by everything they depend on."""

    def __init__(self, highlight, lexer) -> None:
        self.highlight, self.lexer = highlight, lexer

    def __call__(self, source, language=None, metadata=None):
        # of a cell's metadata, highlighting reads only "magics_language" (the rest, such
        # as nbclient's execution timestamps, differs in every run)
        magics = (metadata or {}).get("magics_language")
        magics = magics if isinstance(magics, str) and magics else None  # a student can write anything
        key = ("code", id(type(self.highlight)), self.lexer, language, magics, source)
        return _remember(
            key, lambda: self.highlight(source, language, {"magics_language": magics} if magics else None)
        )


# An <img> tag none of whose attributes is alt (attribute by attribute, so "alt=" inside
# another attribute's value does not count as one)
_IMG_WITHOUT_ALT = re.compile(
    r"<img\b(?:\s+(?!alt\b)[^\s=/>]+(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s>]+))?)*\s*/?>", re.I
)


# What markdown renders to, beyond bleach's defaults: nbconvert's own ``clean_html`` keeps
# neither paragraphs, headings nor table heads, so sanitized feedback showed the course's
# text as "&lt;p&gt;...". Scripts, event handlers, styles and links to elsewhere stay out.
_TAGS = {
    *bleach.ALLOWED_TAGS,
    *("p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "div", "span", "pre", "code", "img"),
    *("table", "thead", "tbody", "tr", "th", "td", "sub", "sup", "del", "dl", "dt", "dd"),
}
_TABLE_ALIGNMENT = CSSSanitizer(allowed_css_properties=["text-align"])
_INLINE_IMAGE = re.compile(r"data:image/(png|jpeg|gif|webp);base64,[A-Za-z0-9+/=\s]*\Z")


def _allowed_attribute(tag: str, name: str, value: str) -> bool:
    if name in ("class", "id"):
        return True
    if tag == "a":
        return name == "title" or (name == "href" and value.startswith(("https://", "http://", "#")))
    if tag == "img":  # only images carried in the file itself (cell attachments, plots)
        return name in ("alt", "title", "width", "height") or (
            name == "src" and bool(_INLINE_IMAGE.match(value))
        )
    if tag in ("th", "td"):
        return name in ("style", "colspan", "rowspan")  # style: mistune's text-align only
    return name == "title" and tag in ("abbr", "acronym")


def clean_feedback_html(html: str | bytes) -> str:
    """nbconvert's ``clean_html`` for the feedback, keeping what the course's markdown renders to."""
    html = html.decode() if isinstance(html, bytes) else str(html)
    return bleach.clean(
        html,
        tags=_TAGS,
        attributes=_allowed_attribute,
        protocols=[*bleach.ALLOWED_PROTOCOLS, "data"],  # data: only where _allowed_attribute says
        css_sanitizer=_TABLE_ALIGNMENT,
    )


class SaveAutoGradesSafely(nbgrader.preprocessors.SaveAutoGrades):
    """nbgrader's ``SaveAutoGrades``, which stores the kernel's claims, made safe for what a
    student's kernel printed. nbgrader commits a claim per grade cell and raises on an
    output it cannot score (a partial grade over the cell's points, an output with no
    text): it stopped part-way, the claims before that cell stayed in the gradebook and
    ``TrustedVerify``, next, never ran. Here a cell nbgrader cannot score gets no claim,
    and if saving fails all the same, every grade cell of the submission is set to 0
    before the failure goes on to nbgrader: a claim never stands alone."""

    def _add_score(self, cell, resources) -> None:
        from nbgrader import utils

        from autograder.instructor.untrusted import printable

        grade = self.gradebook.find_grade(
            cell.metadata["nbgrader"]["grade_id"], self.notebook_id, self.assignment_id, self.student_id
        )
        try:
            claim = utils.determine_grade(cell, self.log)[0]
        except Exception as exc:  # noqa: BLE001 - the kernel's output is the student's
            self.log.warning(
                "No claim for %s: nbgrader cannot score its output (%s)", grade.name, printable(exc, 200)
            )
            claim = None
        grade.auto_score = claim
        grade.needs_manual_grade = grade.manual_score is not None or claim is None
        self.gradebook.db.commit()

    def preprocess(self, nb, resources):
        try:
            return super().preprocess(nb, resources)
        except BaseException:
            from nbgrader.api import Gradebook

            from autograder.instructor.verify import zero_scores

            info = resources["nbgrader"]
            with Gradebook(info["db_url"]) as gb:
                zero_scores(gb, info["assignment"], info["student"])
            raise


class TrustedVerify(NbGraderPreprocessor):
    """The trusted verify inside nbgrader's own autograde (``nbgrader autograde`` and
    formgrader's Autograde button), after ``SaveAutoGrades`` has stored the kernel's claims.

    Each graded function of the notebook runs in the verify's sandbox on the hidden
    cases; the trusted scores replace the claims as the cells' automatic scores (a manual
    score stays the instructor's), every disagreement is written to the course's
    ``flags_<assignment>.csv``, and the verdict goes at the top of the autograded
    notebook, so formgrader, feedback and export all show the truth. ``grade`` leaves
    this step out: it runs the verify itself, with its calibrated limits.
    """

    def preprocess(self, nb, resources):
        from nbgrader.api import Gradebook
        from nbgrader.coursedir import CourseDirectory

        from autograder.instructor.nbgrader_run import trusted_summary_cell
        from autograder.instructor.untrusted import printable, student_option
        from autograder.instructor.verify import (
            could_not_verify,
            grade_cells,
            kernel_claims,
            partial_credit,
            record,
            replace_flags,
            verify_notebook,
            zero_scores,
        )

        info = resources["nbgrader"]
        assignment, student = info["assignment"], info["student"]
        grade_ids = [grade_id for grade_id, _ in grade_cells(assignment).values()]
        with Gradebook(info["db_url"]) as gb:
            claims = kernel_claims(gb, assignment, student, grade_ids)
            # Fail closed: the claims are the student's kernel's word. Until the verify has
            # judged, every cell is 0, so a verify that raises or is killed leaves zeros.
            zero_scores(gb, assignment, student)
        failure = None
        try:
            with tempfile.TemporaryDirectory(prefix="autograder-verify-") as tmp:
                path = Path(tmp) / f"{assignment}.ipynb"
                nbformat.write(nb, path)
                results = verify_notebook(assignment, path, partial=partial_credit(self.config))
        except Exception as exc:  # noqa: BLE001 - the grader's failure, recorded as such below
            failure = exc
            results = could_not_verify(assignment, f"{type(exc).__name__}: {printable(exc, 300)}")
        with Gradebook(info["db_url"]) as gb:
            flags = record(gb, assignment, student, results, claims)
        root = Path(CourseDirectory(config=self.config).root)
        replace_flags(root / f"flags_{assignment}.csv", student, flags)
        if failure is not None:  # nbgrader reports the submission as failed, with this cause
            raise RuntimeError(
                f"the trusted verify of {printable(student, 200)} failed; every grade cell of it "
                f"scores 0 and is flagged in flags_{assignment}.csv. Fix the cause, then run "
                f"`nbgrader autograde {assignment} --force {student_option(student)}`"
            ) from failure
        nb.cells.insert(0, trusted_summary_cell(results))
        for r in results:
            if r.grader_fault:
                self.log.error("Trusted verify of %s: %s; regrade it (--force)", student, r.grader_fault)
        self.log.info("Trusted verify of %s: %g points", student, sum(r.score for r in results))
        return nb, resources

    def preprocess_cell(self, cell, resources, index):
        return cell, resources
