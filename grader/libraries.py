"""The handout's library rule, checked on the submission's source without running it.

Only what the student wrote is read: a top-level statement (an import, a function, a class,
a ``__main__`` block) identical to one of the kata's module of the same name is the kata's
given code (``run_q4.load_photo``, ``run_q6_3.py``'s video reader ...) and is left out, so a
correct submission built from the kata carries no library note.
"""

from __future__ import annotations

import ast
import functools
import re
import sys
from dataclasses import dataclass
from pathlib import Path

RULE = (
    "The handout's rule: use only numpy, scipy, scikit-image and matplotlib (and PyTorch with "
    "torchvision in Q6) besides the Python standard library."
)
ALLOWED = {"numpy", "scipy", "skimage", "matplotlib", "torch", "torchvision"}
# Part of matplotlib's distribution; the course's own data loader, given with the kata.
ALSO_FINE = {"mpl_toolkits", "coursedata"}
# The kata whose given code is not the student's (the handout's files, as the student got them).
KATA = Path(__file__).resolve().parent.parent / "kata"


# The handout's own files import each other (``from util import *``, ``import nn``).
HANDOUT_MODULE = re.compile(r"^(nn|util|q\d\w*|run_q\w*)$")


@dataclass(frozen=True)
class Violation:
    file: str
    line: int
    module: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line} imports {self.module}"


def scan(
    files: list[Path], own_modules: set[str] | None = None, kata: Path | None = KATA
) -> list[Violation]:
    """Imports in ``files`` outside the rule (standard library and the submission's own
    modules excepted), in the code the student wrote: statements identical to the given code
    of ``kata`` (the kata's module of the same name) are left out."""
    own = set(own_modules or ()) | {p.stem for p in files}
    stdlib = set(sys.stdlib_module_names)
    found = []
    for path in files:
        try:
            tree = ast.parse(path.read_text(encoding="utf-8", errors="replace"))
        except SyntaxError:
            continue
        given = given_statements(kata / f"{path.stem}.py") if kata is not None else frozenset()
        written = [node for node in tree.body if _key(node) not in given]
        for node in (inner for top in written for inner in ast.walk(top)):
            # a top-level import is compared name by name: `import imageio.v3 as iio, cv2`
            # where the kata gives `import imageio.v3 as iio` adds cv2 only
            aliases = [a for a in getattr(node, "names", ()) if _alias_key(node, a) not in given]
            if isinstance(node, ast.Import):
                names = [a.name for a in aliases]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module] if aliases else []
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top in ALLOWED | ALSO_FINE | stdlib | own or HANDOUT_MODULE.match(top):
                    continue
                found.append(Violation(path.name, node.lineno, name))
    return found


def _key(node: ast.AST) -> str:
    """A top-level statement, as compared with the kata's: its AST without positions and
    without a docstring (a student may reword a given function's docstring)."""
    body = getattr(node, "body", None)
    if (
        isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
        and body
        and isinstance(body[0], ast.Expr)
        and isinstance(body[0].value, ast.Constant)
        and isinstance(body[0].value.value, str)
    ):
        node = type(node)(**{**vars(node), "body": body[1:]})
    return ast.dump(node)


@functools.cache
def given_statements(kata_module: Path) -> frozenset[str]:
    """The top-level statements of a kata module, with the handout's flat imports (as
    ``python -m grader export`` writes them); empty when there is no such module."""
    from grader.packaging import flatten_imports

    try:
        source = kata_module.read_text(encoding="utf-8")
        tree = ast.parse(flatten_imports(source, kata_module.parent.name))
    except (OSError, SyntaxError, ValueError):
        return frozenset()
    keys = {_key(node) for node in tree.body}
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            keys.update(_alias_key(node, alias) for alias in node.names)
    return frozenset(keys)


def _alias_key(node: ast.AST, alias: ast.alias) -> str:
    """One name of a top-level import, as compared with the kata's."""
    module = f"{'.' * node.level}{node.module or ''}:" if isinstance(node, ast.ImportFrom) else ""
    return f"import {module}{alias.name} as {alias.asname}"
