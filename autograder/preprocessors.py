"""nbgrader preprocessors the course plugs in through nbgrader_config.py."""

from __future__ import annotations

import re

import bleach
import jinja2
import nbformat
from bleach.css_sanitizer import CSSSanitizer
from nbconvert.exporters import HTMLExporter
from nbgrader.preprocessors import ClearHiddenTests, Execute, NbGraderPreprocessor
from traitlets import Integer

from autograder.notebook import skipped_when_grading

SKIPPED = "Not run when grading: this cell only trains on the full data or draws a figure.\n"


class ExecuteGraded(Execute):
    """nbgrader's ``Execute``, minus the course's figure and full-training cells.

    A cell is skipped only when its source is exactly that of such a release cell (nbgrader
    has already restored locked cells' sources): what a student writes always runs, and a
    tag a student adds changes nothing. This keeps matplotlib out of grading.
    """

    def preprocess_cell(self, cell, resources, index):
        assignment = resources.get("nbgrader", {}).get("assignment", "")
        if cell.cell_type == "code" and cell.source in skipped_when_grading(assignment):
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=SKIPPED)]
            cell.execution_count = None
            return cell, resources
        return super().preprocess_cell(cell, resources, index)


class HideHiddenTests(ClearHiddenTests):
    """Feedback: remove the ``### BEGIN/END HIDDEN TESTS`` regions from the autograded
    notebook before it is rendered; the cells' outputs (the checks' messages) stay."""


class CapOutputSize(NbGraderPreprocessor):
    """Autograde: cut any text output longer than ``max_chars``.

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
