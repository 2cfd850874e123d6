"""Every graded check, by handout question (one module per handout part).

Each module defines ``CHECKS``: a list of :class:`grader.check.Check`, tasks and judges side
by side. Modules here are imported by both processes: the grader's (inputs, judges,
figures) and the submission's (tasks). They never import submission code at import time.
"""

from grader.checks import q2, q3, q4, q5, q6

CHECKS = [*q2.CHECKS, *q3.CHECKS, *q4.CHECKS, *q5.CHECKS, *q6.CHECKS]
