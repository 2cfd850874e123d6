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
import inspect

USED: set[str] = set()

NUMPY_ALIASES = {
    "float": float,
    "int": int,
    "bool": bool,
    "object": object,
    "complex": complex,
    "str": str,
}

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


def _skimage() -> None:
    try:
        import skimage  # noqa: F401
    except ImportError:
        return
    for name in SKIMAGE_MODULES:
        try:
            module = importlib.import_module(f"skimage.{name}")
        except ImportError:
            continue
        for attr in getattr(module, "__all__", None) or dir(module):
            func = getattr(module, attr, None)
            if inspect.isfunction(func) and not getattr(func, "_nrk_shim", False):
                setattr(module, attr, _wrap(func))
    for (name, old), new in SKIMAGE_RENAMED_FUNCTIONS.items():
        module = importlib.import_module(f"skimage.{name}")
        if not hasattr(module, old) and hasattr(module, new):
            setattr(module, old, _renamed(getattr(module, new), f"skimage {old} -> {new}"))


def _renamed(func, shim: str):
    @functools.wraps(func)
    def renamed(*args, **kwargs):
        USED.add(shim)
        return func(*args, **kwargs)

    return renamed
