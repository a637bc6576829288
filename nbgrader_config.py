"""nbgrader configuration for the course: run nbgrader commands from this directory."""

c = get_config()  # noqa: F821 (injected by traitlets)

c.CourseDirectory.course_id = "rnn-from-scratch"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "notebooks"

# Grading runs headless: a runaway cell must not hold the batch, and a cell whose
# output never arrives fails instead of passing (nbgrader issue #427).
from autograder.instructor.limits import CELL_SECONDS  # noqa: E402 (the same limit everywhere)

c.ExecutePreprocessor.timeout = CELL_SECONDS
# Every kernel nbgrader starts for this course (autograde, formgrader's Autograde button,
# validate) runs in the course's bubblewrap sandbox: it sees the student side of the
# package and its own scratch space, not solutions/, the gradebook, other submissions,
# HOME or the network. Without a working bubblewrap it refuses, saying why and what to do.
c.Execute.kernel_manager_class = "autograder.instructor.sandbox.CourseKernelManager"
c.Execute.timeout = CELL_SECONDS
c.Execute.raise_on_iopub_timeout = True
# nbconvert validates each notebook it converts once, after the last preprocessor, instead
# of after every one: the same check on what is written, at a sixth of the cost.
c.Exporter.optimistic_validation = True
# Deleted grade cells: `python -m autograder grade` restores them from the release.
# (nbgrader's OverwriteCells.add_missing_cells raises KeyError on these notebooks,
# where the cell before each grade cell is a read-only self-check cell.)
# Output kept in autograded notebooks and feedback: lines (nbgrader's LimitOutput),
# then characters (one endless line gets through a line limit).
c.LimitOutput.max_lines = 200
c.Autograde.autograde_preprocessors = [
    "autograder.instructor.preprocessors.ExecuteGraded",  # nbgrader's Execute, figures skipped
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    "autograder.instructor.preprocessors.CapOutputSize",
    "autograder.instructor.preprocessors.SaveAutoGradesSafely",  # the kernel's claims, then the truth:
    "autograder.instructor.preprocessors.TrustedVerify",  # the trusted verify's scores replace them
    "nbgrader.preprocessors.AssignLatePenalties",
    "autograder.instructor.preprocessors.CheckCellMetadata",  # nbgrader's, schema compiled once
]
c.Autograde.sanitize_preprocessors = [  # nbgrader's, but for the same CheckCellMetadata
    "nbgrader.preprocessors.ClearOutput",
    "nbgrader.preprocessors.DeduplicateIds",
    "nbgrader.preprocessors.OverwriteKernelspec",
    "nbgrader.preprocessors.OverwriteCells",
    "autograder.instructor.preprocessors.CheckCellMetadata",
]
# Feedback shows what a student's cells displayed: sanitized, so no script or event
# handler a student wrote runs in the browser of whoever opens it.
c.HTMLExporter.sanitize_html = True
c.GenerateFeedback.exporter_class = (
    "autograder.instructor.preprocessors.FeedbackExporter"  # templates compiled once
)
# Feedback must never show hidden-test source (see autograder/instructor/preprocessors.py).
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "autograder.instructor.preprocessors.HideHiddenTests",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]

# `nbgrader zip_collect` (and `python -m autograder grade --zip`): file names in an
# LMS download, Canvas style: <student>_[late_]<Canvas user id>_<submission id>_<file>.ipynb.
# `grade --zip` also reads the groups `late` (marked late, time unknown), `lms_id` (kept in
# lms_ids.csv for `python -m autograder export`) and `timestamp` (when it was handed in);
# nbgrader's zip_collect ignores the first two and reads `timestamp` too.
c.ZipCollectApp.collector_plugin = "nbgrader.plugins.FileNameCollectorPlugin"
c.FileNameCollectorPlugin.named_regexp = (
    r".*/(?P<student_id>[A-Za-z0-9.-]+)_(?P<late>late_)?(?P<lms_id>\d+)_\d+_(?P<file_id>.+\.ipynb)$"
)

# Late submissions. Due dates and extensions live in the gradebook, where nbgrader keeps
# them (README: "Due dates"). The penalty: this plugin, on the trusted score, per notebook.
# nbgrader's own is "nbgrader.plugins.LateSubmissionPlugin" (penalty_method "none"/"zero").
c.AssignLatePenalties.plugin_class = "autograder.instructor.late.PerDayPenalty"
c.PerDayPenalty.percent_per_day = 10.0  # of the score, per started day late
c.PerDayPenalty.grace_minutes = 0

# Partial credit: each graded function's points shared among its outputs or cases, as its
# spec declares (autograder/student/assignments/<a>.py; README, "Points"), scored by the
# trusted verify. False keeps all or nothing: the points only when all of it is right.
c.PartialCredit.enabled = True
