"""Feedback without hidden-test source (``GenerateFeedback.preprocessors`` in nbgrader_config.py)."""

from __future__ import annotations

from nbgrader.preprocessors import ClearHiddenTests


class HideHiddenTests(ClearHiddenTests):
    """Remove the ``### BEGIN/END HIDDEN TESTS`` regions from the autograded notebook before
    it is rendered as feedback; the cells' outputs (the checks' messages) stay."""
