"""Benchmarks of the reference solutions, the tests and the grader (``python -m benchmarks``).

How fast the numpy network of Q3 trains against the same network in PyTorch on the CPU and
against the machine's peak, how its epoch time grows with the hidden layer and the data, the
Q2.5 gradient checker's cost, ``findLetters`` and text extraction on the sample photos, the wall
time of the test tiers and of a full grade, and which BLAS numpy uses. Results go to
``benchmarks/results.json`` (comparable between runs), a printed table and a markdown report.

Nothing here is imported by the tests' timing: no test asserts a wall time. This package must
not import numpy at import time (``__main__`` may re-execute itself with a cleaned
environment before OpenBLAS loads).
"""
