"""Course data for the kata: the NIST36 loader, the sample photos and their ground truth.

``coursedata.nist36`` is the one loader used by the kata, the solutions, the tests and the
grader. ``python -m coursedata.download`` fetches the official files (optional; the bundled
stand-in works without them) and ``python -m coursedata.build_standin`` rebuilds the stand-in.
"""

from coursedata.nist36 import (
    CLASSES,
    DATA_DIR,
    SPLITS,
    DataError,
    clear_cache,
    data_dir,
    load_ground_truth,
    load_nist36,
    load_sample_images,
    nist36_source,
    official_paths,
)

__all__ = [
    "CLASSES",
    "DATA_DIR",
    "SPLITS",
    "DataError",
    "clear_cache",
    "data_dir",
    "load_ground_truth",
    "load_nist36",
    "load_sample_images",
    "nist36_source",
    "official_paths",
]
