"""Where NIST36 comes from, for the checks that train on it (Q3, Q5): the official files or
the bundled stand-in, each with its own bars in the question modules."""

from __future__ import annotations

from coursedata import DataError, load_nist36, nist36_source, official_paths


def official_data() -> bool:
    """True when ``load_nist36`` reads the official files (all three in the data directory);
    False on the bundled stand-in."""
    return all(path.is_file() for path in official_paths().values())


def nist36_missing() -> str | None:
    """Why NIST36 cannot be loaded here (partial official files, no stand-in).

    Returns
    -------
    reason : str or None
        None when ``load_nist36`` works.
    """
    try:
        nist36_source()
        load_nist36("valid")
    except (DataError, OSError) as exc:
        return f"NIST36 is not available here: {exc}"
    return None
