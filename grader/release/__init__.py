"""What the student release is built from (instructors only; never shipped itself).

``README.md``: the student's README template; ``oracle.py``: the oracle's public face, shipped
as ``grader/oracle.py``; ``build.py``: records the expected values of the public checks and
writes the files that replace the instructors' in the release.
"""
