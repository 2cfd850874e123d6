"""Q6.1.4: a CNN on the SUN scene subset of the bag-of-words homework (``run_q6_1_4.py``).

``read_sun_split`` is checked on list files written here (no images needed): blank lines are
no entries, files of different lengths raise ValueError. ``make_scene_cnn`` must map 3x64x64
images to 8 logits with convolutions; ``train_scenes`` must clear ``SUN_BAR`` on the test
split, measured here from the returned logits against ``test_labels.txt``. Not gradable until
the subset is present (``q6_data.sun_available``).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

from grader.check import Check, Fail, array, number
from grader.checks.q6_common import (
    PROVISIONAL,
    Bar,
    image_batch_inputs,
    judge_cnn,
    training_checks,
    training_inputs,
)
from grader.checks.q6_data import sun_available, sun_labels, sun_root
from grader.checks.torchnets import cnn_task, torch_cpu, trained_pair, training_run

# ================================================================ the bar, the messages
# Provisional (docs/questions.md, Q6): never measured on the real data. Set so that any
# working network clears it: the bag-of-words homework reaches about 50-70% of the scenes.
SUN_BAR = Bar(15, 0.30, "SUN test split", "8 scenes: chance is 12.5%", PROVISIONAL)
SKIP_BLANK_LINES = (
    "train_files.txt lists {n} images (then a newline{blank}); read_sun_split returned {got:.0f} "
    "paths: skip blank lines"
)
SUN_PATHS = "read_sun_split's paths should be root / each line of train_files.txt, in order"
INTEGER_LABELS = "read_sun_split's labels should be integers, got {dtype}"


# ================================================================ in the submission's process
def read_sun_split_task(sub, inputs):
    """``read_sun_split`` on list files written here (no images needed), then on files of
    different lengths."""
    run = sub.load("run_q6_1_4")
    with tempfile.TemporaryDirectory(prefix="sun-lists-") as folder:
        return _read_sun_split(run, Path(folder), inputs)


def _read_sun_split(run, root, inputs):
    (root / "train_files.txt").write_text(inputs["files_text"], encoding="utf-8")
    (root / "train_labels.txt").write_text(inputs["labels_text"], encoding="utf-8")
    (root / "test_files.txt").write_text(inputs["files_text"], encoding="utf-8")
    (root / "test_labels.txt").write_text(inputs["short_labels_text"], encoding="utf-8")
    try:
        paths, labels = trained_pair(run.read_sun_split(root, "train"), "read_sun_split")
    except NotImplementedError:
        raise
    except Exception as exc:  # the judge says what the files held
        return {"raised": f"{type(exc).__name__}: {exc}"}
    labels = np.asarray(labels)
    out = {
        "paths": [os.path.relpath(str(p), str(root)) for p in paths] or "",
        "n_paths": len(paths),
        "labels": labels if labels.dtype.kind in "iub" else labels.astype(np.float64),
        "labels_dtype": str(labels.dtype),
    }
    try:
        run.read_sun_split(root, "test")
        out["mismatch_raised"] = ""
    except Exception as exc:
        out["mismatch_raised"] = type(exc).__name__
    return out


def scene_cnn_task(sub, inputs):
    return cnn_task(sub, inputs, "run_q6_1_4", "make_scene_cnn", 5)


def scenes_training_task(sub, inputs):
    """``train_scenes``; logits of the test split, as ``sun_datasets`` gives it."""
    torch_cpu()
    run = sub.load("run_q6_1_4")
    epochs, seed, root = int(inputs["epochs"]), int(inputs["seed"]), inputs["root"]
    return training_run(
        (run.train_scenes, epochs, seed, root),
        "train_scenes",
        lambda: run.train_scenes(epochs=epochs, seed=seed, root=root, device="cpu"),
        lambda: run.sun_datasets(root)[1],
    )


# ================================================================ in the grader's process
SUN_LINES = ["aquarium/sun_a.jpg", "aquarium/sun_b.jpg", "desert/sun_c.jpg", "kitchen/sun_d.jpg"]
SUN_LIST_LABELS = [0, 0, 1, 2]


def read_sun_split_inputs():
    return {
        "files_text": "\n".join(SUN_LINES) + "\n\n",  # a final newline and a blank line
        "labels_text": "\n".join(map(str, SUN_LIST_LABELS)) + "\n",
        "short_labels_text": "0\n0\n1\n",
    }


def judge_read_sun_split(inputs, out):
    if out.get("raised"):
        raise Fail(
            f"read_sun_split(root, 'train') raised {out['raised']}; train_files.txt lists "
            f"{len(SUN_LINES)} images (then a newline and a blank line) and train_labels.txt "
            f"{len(SUN_LIST_LABELS)} labels: blank lines are not entries"
        )
    n = number(out, "n_paths", "the number of paths")
    if n != len(SUN_LINES):
        raise Fail(SKIP_BLANK_LINES.format(n=len(SUN_LINES), blank=" and a blank line", got=n))
    paths = out.get("paths")
    paths = [paths] if isinstance(paths, str) else list(paths or [])
    if paths != SUN_LINES:
        raise Fail(f"{SUN_PATHS}: expected {SUN_LINES} under root, got {paths}")
    labels = array(out, "labels", "read_sun_split's labels", shape=(len(SUN_LINES),))
    if labels.dtype.kind not in "iu":
        raise Fail(INTEGER_LABELS.format(dtype=out["labels_dtype"]))
    if labels.tolist() != SUN_LIST_LABELS:
        raise Fail(
            f"read_sun_split's labels: expected {SUN_LIST_LABELS} (train_labels.txt, in order), "
            f"got {labels.tolist()}"
        )
    raised = out.get("mismatch_raised", "")
    if raised != "ValueError":
        got = f"raised {raised}" if raised else "raised nothing"
        raise Fail(
            f"test_files.txt lists {len(SUN_LINES)} images but test_labels.txt has 3 labels: "
            f"read_sun_split should raise ValueError, it {got}"
        )


def scene_labels(inputs, out):
    return sun_labels(inputs["root"], "test")


# ================================================================ the checks
_TRAIN = ("q6_train", "run_q6_1_4")
_INPUTS = training_inputs(SUN_BAR, root=lambda: str(sun_root()))

CHECKS = [
    Check("6.1.4", "read_sun_split reads the list files (skipping blank lines)", 2,
          read_sun_split_task, judge_read_sun_split, read_sun_split_inputs, budget=120,
          modules=("run_q6_1_4",), available=sun_available),
    Check("6.1.4", "make_scene_cnn maps 3x64x64 images to 8 logits with convolutions", 1,
          scene_cnn_task, judge_cnn("make_scene_cnn", 4, 8, (2, 5)),
          image_batch_inputs((3, 64, 64)), budget=120, modules=("run_q6_1_4",),
          available=sun_available),
    *training_checks("6.1.4", "train_scenes", SUN_BAR, "the scenes", (5, 2),
                     scenes_training_task, scene_labels, _INPUTS, 2400, _TRAIN,
                     ("q6_1_4", "Q6.1.4 CNN, SUN scenes (validation = test split)"),
                     available=sun_available),
]  # fmt: skip
