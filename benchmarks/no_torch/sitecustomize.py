"""PyTorch hidden: with this folder first on ``PYTHONPATH``, a process and its children (the
pytest-xdist workers) see no ``torch`` nor ``torchvision``, as in the student's Q1-Q5
environment (the README's ``pip install -e ".[test]"``): ``importlib.util.find_spec`` gives
None and ``import torch`` raises ModuleNotFoundError, as for a package not installed.
``python -m benchmarks --suite`` times the student's self-check this way;
``tests/test_grader_q6_modules.py`` grades Q6 this way."""

from importlib.machinery import PathFinder

HIDDEN = ("torch", "torchvision")
_find_spec = PathFinder.find_spec


def _without_hidden(cls, fullname, path=None, target=None):
    if fullname.split(".")[0] in HIDDEN:
        return None
    return _find_spec(fullname, path, target)


# a classmethod as the original, so that PathFinder.find_spec stays a bound method (pytest's
# assertion rewriter keeps it as a class attribute)
PathFinder.find_spec = classmethod(_without_hidden)
