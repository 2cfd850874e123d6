"""The handout's library rule, checked on the submission's source without running it."""

from __future__ import annotations

import ast
import re
import sys
from dataclasses import dataclass
from pathlib import Path

RULE = (
    "The handout's rule: use only numpy, scipy, scikit-image and matplotlib (and PyTorch with "
    "torchvision in Q6) besides the Python standard library."
)
ALLOWED = {"numpy", "scipy", "skimage", "matplotlib", "torch", "torchvision"}
# Part of matplotlib's distribution.
ALSO_FINE = {"mpl_toolkits"}


# The handout's own files import each other (``from util import *``, ``import nn``).
HANDOUT_MODULE = re.compile(r"^(nn|util|q\d\w*|run_q\w*)$")


@dataclass(frozen=True)
class Violation:
    file: str
    line: int
    module: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line} imports {self.module}"


def scan(files: list[Path], own_modules: set[str] | None = None) -> list[Violation]:
    """Imports in ``files`` outside the rule (standard library and the submission's own
    modules excepted)."""
    own = set(own_modules or ()) | {p.stem for p in files}
    stdlib = set(sys.stdlib_module_names)
    found = []
    for path in files:
        try:
            tree = ast.parse(path.read_text(encoding="utf-8", errors="replace"))
        except (SyntaxError, ValueError, OSError, RecursionError, MemoryError):
            continue  # not Python (or not readable): nothing to report
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top in ALLOWED | ALSO_FINE | stdlib | own or HANDOUT_MODULE.match(top):
                    continue
                found.append(Violation(path.name, node.lineno, name))
    return found
