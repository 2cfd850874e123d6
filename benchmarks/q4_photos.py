"""Q4 on the sample photos: ``findLetters`` per photo, and text extraction end to end (read
the photo, find the letters, crop, classify with the reference network, group into lines)."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from .common import log, median_time, result

FIND_LETTERS_TARGET_S = 2.0  # on the 12-megapixel photo
LARGE_PHOTO_MP = 10.0


def photos(folder=None):
    """The sample photos (``data/images/*.jpg``), sorted by name."""
    from coursedata import data_dir

    folder = Path(folder) if folder else data_dir() / "images"
    return sorted(p for p in folder.glob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png"))


def run(repeat=5, warmup=1, only_smallest=False):
    """The photo benchmark.

    Parameters
    ----------
    repeat, warmup : int
        ``findLetters`` is timed ``repeat`` times, text extraction ``min(repeat, 3)`` times.
    only_smallest : bool
        Time only the smallest photo (the ``--quick`` run).

    Returns
    -------
    records : list of dict
    """
    from solutions import run_q4
    from solutions.q4 import findLetters

    params = run_q4.load_weights(run_q4.reference_weights_path())
    paths = photos()
    if only_smallest:
        paths = sorted(paths, key=lambda p: p.stat().st_size)[:1]
    out = []
    for path in paths:
        image = run_q4.load_photo(path)
        megapixels = image.shape[0] * image.shape[1] / 1e6
        find = partial(findLetters, image)
        seconds, (bboxes, _bw) = _median_with_value(find, repeat, warmup)
        large = megapixels >= LARGE_PHOTO_MP
        log(
            f"  {path.name} ({megapixels:.1f} MP): findLetters {seconds:.2f} s, {len(bboxes)} boxes"
        )
        out.append(
            result(
                f"q4.findLetters.{path.stem}",
                seconds,
                "s",
                target=f"<= {FIND_LETTERS_TARGET_S:g} s" if large else None,
                met=bool(seconds <= FIND_LETTERS_TARGET_S) if large else None,
                note=f"{megapixels:.1f} MP, {len(bboxes)} boxes, median of {repeat}",
                megapixels=round(megapixels, 2),
            )
        )
        runs = min(repeat, 3)
        seconds, lines = _median_with_value(
            lambda path=path: run_q4.extract_text(run_q4.load_photo(path), params), runs, 0
        )
        log(f"  {path.name}: extract text end to end {seconds:.2f} s, {len(lines)} lines")
        out.append(
            result(
                f"q4.extract_text.{path.stem}",
                seconds,
                "s",
                note=f"read + findLetters + crop + classify + lines, {len(lines)} lines, "
                f"median of {runs}",
                megapixels=round(megapixels, 2),
            )
        )
    return out


def _median_with_value(fn, repeat, warmup):
    box = {}

    def call():
        box["value"] = fn()

    seconds, _ = median_time(call, repeat, warmup)
    return seconds, box["value"]
