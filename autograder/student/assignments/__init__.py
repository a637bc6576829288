"""One module per assignment: its graded functions and their cases (``autograder.student.specs``
finds them)."""
