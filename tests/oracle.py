"""The independent reference computations, shared with the grader (``grader/oracle.py``)."""

from grader.oracle import *  # noqa: F403
