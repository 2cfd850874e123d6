"""Which implementation is under test, and how its modules are loaded.

An implementation is named by a spec:

* ``kata`` or ``solutions``: the packages of this project;
* a folder in the handout's flat layout (``nn.py``, ``util.py``, ``q4.py`` ... importing
  each other with flat imports such as ``from util import *``): a student's submission.

Flat folders are loaded as students run them: the folder goes first on ``sys.path`` and
each file is imported under its own name (``nn``, ``util``). Three kindnesses make code
written for older libraries gradable on today's:

* ``util.py`` is the handout's file, not the student's work: when it is missing, or is the
  handout's own (only its activation helpers), the project's own is used;
* NumPy 2 removed the ``np.float``/``np.int``/``np.bool``... aliases that the handout's
  ``util.py`` and many submissions use: they are restored (and reported) before import;
* ``run_q*.py`` files are often scripts that train at import time (the handout's
  ``run_q2.py``): such a script is loaded as its definitions only (its imports, functions,
  classes and literal constants), without running its top-level statements, so the student
  is graded on the functions they wrote.

What the handout asks for and the submission lacks is *not submitted*: a missing file
raises :class:`NotSubmitted` ("not submitted: q4.py") when loaded, a missing function when
looked up ("not submitted: nn.get_random_batches"). Its checks score 0 of their points.
A script's missing kata-only function (``run_q2.train``) raises :class:`ScriptLacks`: its
checks are left out where another check grades the same work (a script: top-level work, or
an ``if __name__ == "__main__":`` block).
"""

from __future__ import annotations

import ast
import functools
import importlib
import importlib.util
import os
import re
import sys
import types
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

ENV_VAR = "NRK_IMPL"
PACKAGES = ("kata", "solutions")

# Aliases NumPy 2 removed, restored for flat submissions only.
NUMPY_ALIASES = {
    "float": float,
    "int": int,
    "bool": bool,
    "object": object,
    "complex": complex,
    "str": str,
}


class ImplementationError(ValueError):
    """The spec names no usable implementation."""


class NotProvided(LookupError):
    """The implementation cannot be asked a check (a function only the kata's layout has,
    while another check grades the same work): the check is left out."""


# Messages of what the handout asks for and a submission lacks start with this: such checks
# score 0 of their points (the grader reads it back from the submission's process).
NOT_SUBMITTED = "not submitted"


class NotSubmitted(NotProvided, AttributeError):
    """A file or function is not in the submission: its checks score 0. (An AttributeError
    too, so that ``getattr(module, name, None)`` still works on a flat module.)"""


class ScriptLacks(NotProvided, AttributeError):
    """A script (the handout's ``run_q2.py``, loaded as its definitions) lacks a function of
    the kata's layout: the checks calling it are left out; when a question has no other
    checks, it scores 0."""


@dataclass
class Implementation:
    """The implementation under test, as the check tasks see it: ``load(name)``, ``label`` and
    ``shims``. A package of this project or a flat-layout folder (:func:`resolve`), or
    modules given in-process (:meth:`with_modules`: a test's stand-in for a submission)."""

    spec: str
    package: str | None = None
    folder: Path | None = None
    shims: list[str] = field(default_factory=list)
    _modules: dict[str, ModuleType] = field(default_factory=dict, repr=False)
    _base: Implementation | None = field(default=None, repr=False)
    _missing: frozenset[str] = field(default=frozenset(), repr=False)

    @classmethod
    def with_modules(
        cls,
        modules: dict[str, ModuleType] | None = None,
        *,
        base: Implementation | None = None,
        missing: tuple[str, ...] | list[str] | frozenset[str] = (),
        label: str | None = None,
    ) -> Implementation:
        """An implementation whose ``load(name)`` returns ``modules[name]``; any other module
        comes from ``base`` (loaded by it), or raises :class:`NotProvided` without a base.
        The names in ``missing`` raise :class:`NotProvided` (a script, a file left out).

        ``label`` defaults to ``"<base's label> (stand-in)"``; ``shims`` are the base's.
        For tests: a mutant or variant of a submission, graded in-process.
        """
        modules = dict(modules or {})
        clash = set(modules) & set(missing)
        if clash:
            raise ValueError(f"modules both given and missing: {sorted(clash)}")
        if label is None:
            label = f"{base.label} (stand-in)" if base is not None else "stand-in"
        return cls(
            label,
            shims=base.shims if base is not None else [],
            _modules=modules,
            _base=base,
            _missing=frozenset(missing),
        )

    @property
    def label(self) -> str:
        if self.package:
            return self.package
        return str(self.folder) if self.folder is not None else self.spec

    def load(self, name: str) -> ModuleType:
        """Import module ``name`` (``'nn'``, ``'util'``, ``'run_q2'`` ...) of this implementation.

        Raises
        ------
        NotProvided
            The implementation has no such module, or only a script that must not be imported.
        """
        if name in self._missing:
            raise NotProvided(f"{self.label} has no {name}.py")
        if name not in self._modules:
            if self._base is not None:
                return self._base.load(name)
            if self.package is None and self.folder is None:
                raise NotProvided(f"{self.label} has no {name}.py")
            self._modules[name] = (
                self._load_package(name) if self.package else self._load_flat(name)
            )
        return self._modules[name]

    def unload(self) -> None:
        """Forget the flat modules this implementation imported (``sys.modules`` and
        ``sys.path``), so another flat folder can be loaded in the same process. A package
        implementation keeps its modules: their names are qualified."""
        if self.folder is not None:  # its modules' files sit at the folder's top
            for name, module in list(sys.modules.items()):
                file = getattr(module, "__file__", None)
                if file and Path(file).parent == self.folder:
                    del sys.modules[name]
            sys.path[:] = [p for p in sys.path if p != str(self.folder)]
        if self.package is not None or self.folder is not None:
            self._modules.clear()  # given modules (``with_modules``) stay given

    def _load_package(self, name: str) -> ModuleType:
        qualified = f"{self.package}.{name}"
        try:
            return importlib.import_module(qualified)
        except ModuleNotFoundError as exc:
            if exc.name == qualified:
                raise NotProvided(f"{self.package} has no module {name}.py") from None
            raise

    def _load_flat(self, name: str) -> ModuleType:
        assert self.folder is not None
        path = self.folder / f"{name}.py"
        if name == "util" and (not path.exists() or is_handout_util(path)):
            return self._project_util()
        if not path.exists():
            raise NotSubmitted(f"{NOT_SUBMITTED}: {name}.py")
        self._apply_numpy_shims(path)
        folder = str(self.folder)
        if folder not in sys.path:
            sys.path.insert(0, folder)
        util = self.folder / "util.py"
        if not util.exists() or is_handout_util(util):
            self._project_util()
        existing = sys.modules.get(name)
        if existing is not None and Path(getattr(existing, "__file__", "") or "") != path:
            raise ImplementationError(
                f"a module named {name!r} is already imported from {existing.__file__}; "
                "test one flat folder per process"
            )
        script = name.startswith("run_q") and not is_import_safe(path)
        module = _definitions_of(name, path) if script else importlib.import_module(name)
        if "__getattr__" not in vars(module):
            # the handout's script under `if __name__ == "__main__":` is a script too
            lacks = script or (name.startswith("run_q") and has_main_block(path))
            module.__getattr__ = _missing_function(name, lacks)
        return module

    def _project_util(self) -> ModuleType:
        """Use the project's util.py (the handout's file) under the flat name ``util``."""
        module = importlib.import_module("kata.util")
        sys.modules.setdefault("util", module)
        return sys.modules["util"]

    def _apply_numpy_shims(self, path: Path) -> None:
        """Restore the removed aliases; record those that ``path`` (or its util) uses."""
        import numpy as np

        missing = _removed_numpy_aliases()
        for alias in missing:
            setattr(np, alias, NUMPY_ALIASES[alias])
        util = self.folder / "util.py"
        sources = [path] + ([util] if util.exists() and not is_handout_util(util) else [])
        text = "\n".join(p.read_text(errors="replace") for p in sources if p.exists())
        for alias in missing:
            if re.search(rf"\b(np|numpy)\.{alias}\b(?![_\d])", text):
                if f"np.{alias}" not in self.shims:
                    self.shims.append(f"np.{alias}")


@functools.cache
def _removed_numpy_aliases() -> tuple[str, ...]:
    """The aliases this NumPy lacks (computed once, before any shim is set)."""
    import numpy as np

    return tuple(alias for alias in NUMPY_ALIASES if alias not in np.__dict__)


def resolve(spec: str | None = None) -> Implementation:
    """Resolve ``spec`` (default: ``$NRK_IMPL``, else ``'kata'``) to an Implementation.

    Raises
    ------
    ImplementationError
        The spec is neither ``kata``, ``solutions`` nor a folder holding ``nn.py``.
    """
    spec = spec or os.environ.get(ENV_VAR) or "kata"
    if spec in PACKAGES:
        if importlib.util.find_spec(spec) is None:
            raise ImplementationError(
                f"the {spec!r} package is not available here"
                + (" (student releases ship without solutions/)" if spec == "solutions" else "")
            )
        return Implementation(spec, package=spec)
    folder = Path(spec).expanduser()
    if not folder.is_dir():
        raise ImplementationError(
            f"--impl {spec!r}: expected 'kata', 'solutions' or a folder in the handout's "
            "layout (nn.py, util.py, q4.py ...), but there is no such folder"
        )
    if not (folder / "nn.py").is_file():
        raise ImplementationError(
            f"--impl {spec!r}: the folder has no nn.py; expected the handout's flat layout "
            f"(nn.py, util.py, q4.py ...). It holds: {sorted(p.name for p in folder.iterdir())}"
        )
    return Implementation(spec, folder=folder.resolve())


# The handout's util.py: these helpers and nothing of the student's.
HANDOUT_UTIL_FUNCTIONS = {"linear", "linear_deriv", "tanh", "tanh_deriv", "relu", "relu_deriv"}


def is_handout_util(path: Path) -> bool:
    """True when ``path`` is the handout's ``util.py`` (only its helpers, no student code):
    the project's own copy is used instead, which also works on NumPy 2."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8", errors="replace"))
    except SyntaxError:
        return False
    functions = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    return bool(functions) and functions <= HANDOUT_UTIL_FUNCTIONS


def _missing_function(module: str, script: bool):
    """A module ``__getattr__``: a function the submission's module lacks is not submitted."""

    def __getattr__(attr: str):
        if attr.startswith("__"):
            raise AttributeError(f"module {module!r} has no attribute {attr!r}")
        if script:
            raise ScriptLacks(
                f"{module}.py is a script without a function {attr}(): these checks call "
                f"{module}.{attr} as the kata's {module}.py defines it (a script's functions "
                "are graded, its top-level statements are not run)"
            )
        raise NotSubmitted(f"{NOT_SUBMITTED}: {module}.{attr} ({module}.py defines no {attr})")

    return __getattr__


def _definitions_of(name: str, path: Path) -> ModuleType:
    """Module ``name`` from the script ``path``, its definitions only: the statements
    :func:`is_import_safe` accepts run (imports, functions, classes, literal constants,
    docstrings); the rest (training, plotting at the top level) does not."""
    source = path.read_text(encoding="utf-8", errors="replace")
    tree = ast.parse(source, filename=str(path))
    tree.body = [node for node in tree.body if _is_definition(node)]
    module = types.ModuleType(name)
    module.__file__ = str(path)
    sys.modules[name] = module
    try:
        exec(compile(tree, str(path), "exec"), module.__dict__)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


_SAFE_TOP_LEVEL = (
    ast.Import,
    ast.ImportFrom,
    ast.FunctionDef,
    ast.AsyncFunctionDef,
    ast.ClassDef,
)


def is_import_safe(path: Path) -> bool:
    """True when importing ``path`` only defines things: imports, definitions, constants,
    docstrings and an ``if __name__ == '__main__':`` block."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8", errors="replace"))
    except SyntaxError:
        return True  # importing it reports the syntax error itself
    return all(_is_definition(node) for node in tree.body)


def has_main_block(path: Path) -> bool:
    """True when ``path`` has an ``if __name__ == '__main__':`` block: the script's work, run
    by ``python run_q2.py`` and not by an import."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8", errors="replace"))
    except SyntaxError:
        return False
    return any(isinstance(node, ast.If) and _is_main_guard(node.test) for node in tree.body)


def _is_definition(node: ast.stmt) -> bool:
    """Whether a top-level statement only defines things (or is the ``__main__`` block)."""
    if isinstance(node, _SAFE_TOP_LEVEL):
        return True
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
        return True  # docstring
    if isinstance(node, ast.Assign) and _is_literal(node.value):
        # a constant bound to names: `y[idx] = 1` or `a.b = 1` writes into something
        # computed above (dropped), so it is not a definition
        return all(_binds_names(target) for target in node.targets)
    if isinstance(node, ast.AnnAssign) and _is_literal(node.value):
        return isinstance(node.target, ast.Name)
    return isinstance(node, ast.If) and _is_main_guard(node.test)


def _binds_names(target: ast.AST) -> bool:
    """An assignment target made of plain names only (``A``, ``A, B``, ``[A, *B]``)."""
    if isinstance(target, ast.Name):
        return True
    if isinstance(target, ast.Starred):
        return _binds_names(target.value)
    if isinstance(target, (ast.Tuple, ast.List)):
        return all(_binds_names(t) for t in target.elts)
    return False


def _is_literal(node: ast.AST | None) -> bool:
    if node is None:
        return True
    try:
        ast.literal_eval(node)
        return True
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False  # not a constant (or one that cannot be built, `{[1]: 2}`)


def _is_main_guard(test: ast.AST) -> bool:
    return (
        isinstance(test, ast.Compare)
        and isinstance(test.left, ast.Name)
        and test.left.id == "__name__"
        and len(test.comparators) == 1
        and isinstance(test.comparators[0], ast.Constant)
        and test.comparators[0].value == "__main__"
    )
