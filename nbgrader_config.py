"""nbgrader configuration for the course: run nbgrader commands from this directory."""

c = get_config()  # noqa: F821 (injected by traitlets)

c.CourseDirectory.course_id = "rnn-from-scratch"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "notebooks"
c.CourseDirectory.db_assignments = [dict(name="assign_5a"), dict(name="assign_5b")]

# Grading runs headless: a runaway cell must not hold the batch.
c.ExecutePreprocessor.timeout = 120
c.Execute.timeout = 120
# Feedback must never show hidden-test source (see autograder/feedback.py).
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "autograder.feedback.HideHiddenTests",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]
