"""The course's check library and grader.

Two sides (README, "Layout"): the student side (checks, judge, runner, gradcheck, specs,
paths, runaway; shipped to students and to every sandbox) never imports the instructor
side (reference, mistakes, expected, grading, reports): pyproject.toml's import-linter
contract, run by tests/test_layers.py.
"""
