"""The tasks of Q4.4 (run in the submission's process): its ``run_q4`` functions called on
the checks' inputs, their results returned as plain data. They decide nothing: the bars,
the judges and the messages are ``grader/checks/q4_4.py``'s.

A ``run_q4.py`` without the kata's functions (the handout's script, wrapped in a main guard)
makes these checks "not provided". The photo's pipeline reads the classifier the check names
(``inputs['weights']``) and hands it over with the submission's bias convention.
"""

from __future__ import annotations

import numpy as np

from grader.checks.boxes import describe, found_letters
from grader.checks.common import row_bias
from grader.checks.photos import load_classifier, read_photo
from grader.implementation import NotProvided


def _run_q4(sub, *names):
    """The submission's ``run_q4`` functions ``names``: a ``run_q4.py`` without them (the
    handout's script, wrapped in a main guard) cannot be asked these checks."""
    run_q4 = sub.load("run_q4")
    missing = [n for n in names if not callable(getattr(run_q4, n, None))]
    if missing:
        raise NotProvided(
            f"run_q4.py has no {', '.join(missing)}(): these checks call the functions of the "
            "kata's run_q4.py"
        )
    return [getattr(run_q4, n) for n in names]


def crop_letters_task(sub, inputs):
    """crop_letters on each page's ``bw_i`` and ``boxes_i``: ``rows_i``."""
    (crop_letters,) = _run_q4(sub, "crop_letters")
    return {
        f"rows_{i}": crop_letters(inputs[f"bw_{i}"], inputs[f"boxes_{i}"])
        for i in range(int(inputs["n"]))
    }


def group_lines_task(sub, inputs):
    """group_lines on each ``boxes_i``: the lines concatenated, ``order_i``, and ``lengths_i``."""
    (group_lines,) = _run_q4(sub, "group_lines")
    out = {}
    for i in range(int(inputs["n"])):
        lines = group_lines(inputs[f"boxes_{i}"])
        if not isinstance(lines, (list, tuple)):
            out[f"{i}_problem"] = f"group_lines returned {describe(lines)}"
            continue
        try:
            parts = [np.asarray(line, dtype=float).ravel() for line in lines]
        except (TypeError, ValueError) as exc:
            out[f"{i}_problem"] = f"group_lines: a line is not an array of indices ({exc})"
            continue
        out[f"order_{i}"] = np.concatenate(parts) if parts else np.zeros(0)
        out[f"lengths_{i}"] = np.array([len(p) for p in parts], dtype=np.int64)
    return out


def word_gaps_task(sub, inputs):
    """word_gaps on each line's boxes ``boxes_k``: ``spaces_k``."""
    (word_gaps,) = _run_q4(sub, "word_gaps")
    return {f"spaces_{k}": word_gaps(inputs[f"boxes_{k}"]) for k in range(int(inputs["n"]))}


# photo -> (q4, recognise, what the pipeline returned): the two checks of a photo share it
_PIPELINES: dict = {}


def photo_text_task(sub, inputs):
    """The photo's text by the submission's pipeline (findLetters, then recognise with the
    Q4.4's classifier, ``inputs['weights']``): ``lines`` and the number of boxes."""
    (recognise,) = _run_q4(sub, "recognise")
    q4 = sub.load("q4")
    path = inputs["photo"]
    cached = _PIPELINES.get(path)
    if cached is None or cached[0] is not q4 or cached[1] is not recognise:
        try:
            result = _pipeline(sub, recognise, q4, path, inputs["weights"])
        except Exception as exc:
            result = exc
        _PIPELINES[path] = cached = (q4, recognise, result)
    result = cached[2]
    if isinstance(result, Exception):
        raise result
    return result


def _pipeline(sub, recognise, q4, path, weights):
    result = q4.findLetters(read_photo(path))
    found = found_letters(result, bw="shape")
    if "problem" in found:
        return {"problem": found["problem"]}
    params = load_classifier(weights)
    if row_bias(sub.load("nn")):
        params = {k: v.reshape(1, -1) if k.startswith("b") else v for k, v in params.items()}
    bboxes, bw = result  # as findLetters returned them, as run_q4 passes them on
    lines = recognise(bw, bboxes, params)
    out = {"boxes": len(found["bboxes"])}
    if not isinstance(lines, (list, tuple)) or not all(isinstance(s, str) for s in lines):
        return out | {
            "problem": f"recognise should return a list of str (one per line); got "
            f"{describe(lines)}: {str(lines)[:200]}"
        }
    return out | {"n_lines": len(lines), "lines": list(lines)}
