"""The grader: scores an implementation question by question, with the handout's points.

``python -m grader --impl solutions`` (see ``grader.__main__``). The checks are the test
suite's, run in a separate process; points per question are split evenly over its checks.
"""
