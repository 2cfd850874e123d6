"""Shims for code written against older NumPy and scikit-image, installed in the submission's
process only (``grader/child.py``), recording each one a submission actually needed.

* NumPy 2 removed the aliases ``np.float``, ``np.int``, ``np.bool``, ``np.object``,
  ``np.complex`` and ``np.str``: they resolve again, through NumPy's module ``__getattr__``.
* scikit-image renamed keywords and functions: ``multichannel=`` became ``channel_axis``,
  ``selem=`` became ``footprint``, ``neighbors=`` (``measure.label``) became ``connectivity``,
  ``rgb2grey``/``grey2rgb`` became ``rgb2gray``/``gray2rgb``. Calls with the old keywords are
  translated.

``USED`` holds a readable name of every shim that was exercised.
"""

from __future__ import annotations

import functools
import importlib
import importlib.abc
import inspect
import sys

from grader import implementation

USED: set[str] = set()

# the aliases NumPy 2 removed, as grader.implementation lists them
NUMPY_ALIASES = implementation.NUMPY_ALIASES

SKIMAGE_MODULES = (
    "color",
    "exposure",
    "feature",
    "filters",
    "measure",
    "morphology",
    "restoration",
    "segmentation",
    "transform",
)

SKIMAGE_RENAMED_FUNCTIONS = {
    ("color", "rgb2grey"): "rgb2gray",
    ("color", "grey2rgb"): "gray2rgb",
}


def install() -> None:
    """Install every shim (idempotent)."""
    _numpy_aliases()
    _skimage()


def _numpy_aliases() -> None:
    import numpy as np

    missing = {a: t for a, t in NUMPY_ALIASES.items() if a not in np.__dict__}
    if not missing:
        return
    original = np.__dict__.get("__getattr__")
    if getattr(original, "_nrk_shim", False):
        return

    def __getattr__(attr):
        if attr in missing:
            USED.add(f"np.{attr}")
            return missing[attr]
        if original is None:
            raise AttributeError(f"module 'numpy' has no attribute {attr!r}")
        return original(attr)

    __getattr__._nrk_shim = True
    np.__getattr__ = __getattr__


def _translate(kwargs: dict, params) -> list[str]:
    """Rename old keywords in ``kwargs`` in place; return the shim names used."""
    used = []
    if "multichannel" in kwargs and "multichannel" not in params and "channel_axis" in params:
        kwargs["channel_axis"] = -1 if kwargs.pop("multichannel") else None
        used.append("skimage multichannel= -> channel_axis=")
    if "selem" in kwargs and "selem" not in params and "footprint" in params:
        kwargs["footprint"] = kwargs.pop("selem")
        used.append("skimage selem= -> footprint=")
    if "neighbors" in kwargs and "neighbors" not in params and "connectivity" in params:
        neighbors = kwargs.pop("neighbors")
        kwargs["connectivity"] = {4: 1, 8: 2}.get(neighbors, neighbors)
        used.append("skimage neighbors= -> connectivity=")
    return used


def _wrap(func):
    try:
        params = inspect.signature(func).parameters
    except (TypeError, ValueError):
        return func
    if not {"channel_axis", "footprint", "connectivity"} & set(params):
        return func

    @functools.wraps(func)
    def shimmed(*args, **kwargs):
        if kwargs:
            USED.update(_translate(kwargs, params))
        return func(*args, **kwargs)

    shimmed._nrk_shim = True
    return shimmed


class _PatchOnImport(importlib.abc.MetaPathFinder):
    """Patches each ``skimage.<module>`` of :data:`SKIMAGE_MODULES` when it is first imported
    (importing them all up front would cost every submission process seconds)."""

    targets = {f"skimage.{name}" for name in SKIMAGE_MODULES}

    def find_spec(self, fullname, path, target=None):
        if fullname not in self.targets:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None and spec.loader is not None:
                spec.loader = _PatchingLoader(spec.loader)
                return spec
        return None


class _PatchingLoader(importlib.abc.Loader):
    def __init__(self, loader):
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        self.loader.exec_module(module)
        _patch(module)


def _patch(module) -> None:
    """Wrap the module's functions now, and those its lazy ``__getattr__`` returns later."""
    short = module.__name__.split(".", 1)[1]
    for attr, value in list(vars(module).items()):
        if inspect.isfunction(value) and not attr.startswith("_"):
            setattr(module, attr, _wrap(value))
    lazy = vars(module).get("__getattr__")
    renamed = {old: new for (mod, old), new in SKIMAGE_RENAMED_FUNCTIONS.items() if mod == short}

    def __getattr__(attr):
        if attr in renamed:
            return _renamed(getattr(module, renamed[attr]), f"skimage {attr} -> {renamed[attr]}")
        if lazy is None:
            raise AttributeError(f"module {module.__name__!r} has no attribute {attr!r}")
        value = lazy(attr)
        if inspect.isfunction(value):
            value = _wrap(value)
            setattr(module, attr, value)
        return value

    module.__getattr__ = __getattr__


def _skimage() -> None:
    if any(isinstance(f, _PatchOnImport) for f in sys.meta_path):
        return
    for name in list(sys.modules):
        if name in _PatchOnImport.targets:
            _patch(sys.modules[name])
    sys.meta_path.insert(0, _PatchOnImport())


def _renamed(func, shim: str):
    @functools.wraps(func)
    def renamed(*args, **kwargs):
        USED.add(shim)
        return func(*args, **kwargs)

    return renamed
