"""The page generator, now ``grader/pages.py`` (the grader makes its Q4 inputs with it)."""

from grader.pages import *  # noqa: F403
