"""The photos and the classifier of the Q4 checks (Q4.2, Q4.3, Q4.4), and the task that runs
``findLetters`` on a photo.

The four sample photos ship in ``data/images`` with their text (``ground_truth.json``) and
their boxes checked by eye (``character_boxes.json``); Q4.4 classifies with the reference
network ``data/q4_reference_net.npz``. An instructor's own photos, their text and classifier
(``python -m grader --photos DIR --truth FILE --q4-weights FILE``, pytest's options of the
same names) reach the checks as a :class:`PhotoOptions`, the parameter of each Q4 question
module's ``checks(photos)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from coursedata import CLASSES, data_dir, load_ground_truth
from grader.check import array
from grader.checks.boxes import found_letters, problem, valid_boxes
from grader.pages import character_boxes

PHOTOS = ("01_list.jpg", "02_letters.jpg", "03_haiku.jpg", "04_deep.jpg")
PHOTO_BUDGET = 300  # seconds per photo: a 60 s denoiser on 12 megapixels still passes
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff")
BOXES_FILE = "character_boxes.json"  # per-character boxes, beside the photos
PARAM_KEYS = ("Wlayer1", "blayer1", "Woutput", "boutput")  # a 1024-64-36 network's
# judge-only keys of photo_inputs: the photo's boxes and their labels, or its character count
PHOTO_ANSWERS = ("name", "labels", "truth", "characters")


def images_dir() -> Path:
    """The sample photos' folder: ``<data dir>/images`` (``$NRK_DATA_DIR`` when set)."""
    return data_dir() / "images"


def reference_path() -> Path:
    """The reference classifier of Q4.4, ``<data dir>/q4_reference_net.npz``."""
    return data_dir() / "q4_reference_net.npz"


@dataclass(frozen=True)
class PhotoOptions:
    """The photos and classifier of the Q4 checks: the four samples and the reference
    network by default, or an instructor's own (``python -m grader --photos DIR --truth FILE
    --q4-weights FILE``, pytest's options of the same names), passed to ``checks(photos)``.

    ``photos``: a folder of photos; ``truth``: their text (``ground_truth.json``'s schema,
    default ``DIR/ground_truth.json``); ``weights``: Q4.4's classifier (an ``.npz`` or a
    ``run_q3`` pickle). Q4.2 judges each photo's boxes against ``character_boxes.json`` beside
    the photos where it lists the photo, else against the number of characters of its text.
    """

    photos: Path | None = None
    truth: Path | None = None
    weights: Path | None = None

    @property
    def folder(self) -> Path:
        """Where the photos are: ``photos``, else the samples' folder."""
        return Path(self.photos) if self.photos else images_dir()

    @property
    def truth_file(self) -> Path:
        """The photos' ground truth: ``truth``, else ``ground_truth.json`` beside them."""
        return Path(self.truth) if self.truth else self.folder / "ground_truth.json"

    @property
    def classifier(self) -> Path:
        """Q4.4's classifier: ``weights``, else the reference network."""
        return Path(self.weights) if self.weights else reference_path()

    def names(self) -> tuple[str, ...]:
        """The photos graded: the four samples, or every image in ``photos``."""
        if not self.photos:
            return PHOTOS
        folder = Path(self.photos)
        if not folder.is_dir():
            return ()
        return tuple(sorted(p.name for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES))


SAMPLES = PhotoOptions()


def load_classifier(path) -> dict:
    """A 1024-64-36 network's parameters as float64: ``.npz`` read without unpickling; a
    pickle (``run_q3``'s ``q3_weights.pickle``) only in the submission's process (or the
    self-check's, on the student's own file)."""
    path = Path(path)
    if path.suffix == ".npz":
        with np.load(path, allow_pickle=False) as npz:
            return {k: npz[k].astype(np.float64) for k in PARAM_KEYS}
    import pickle

    with open(path, "rb") as f:
        params = pickle.load(f)
    return {k: np.asarray(params[k], dtype=np.float64) for k in PARAM_KEYS}


def box_truth(options: PhotoOptions) -> dict:
    """``{photo: (labels, boxes)}`` of ``character_boxes.json`` beside the photos ({} if none)."""
    path = options.folder / BOXES_FILE
    return character_boxes(path) if path.is_file() else {}


def photo_available(
    name: str, options: PhotoOptions, truth: str = "boxes or text", classifier: bool = False
):
    """Whether a photo's check can run here: the photo is here, with what it is judged
    against: ``truth`` ``"boxes or text"`` (Q4.2: ``character_boxes.json`` lists it, or the
    ground truth has its text), ``"text"`` (Q4.4) or ``""`` (Q4.3: nothing); with
    ``classifier`` (Q4.4), the classifier too. None, or why not."""

    def available():
        photo = options.folder / name
        if not photo.is_file():
            return f"{photo} is not here (the sample photos ship in data/images)"
        if classifier and not options.classifier.is_file():
            return f"the classifier {options.classifier} is not here"
        if not truth or (truth == "boxes or text" and name in box_truth(options)):
            return None
        text = options.truth_file
        if not text.is_file():
            if truth == "text":
                return f"the ground truth {text} is not here (pass --truth FILE)"
            return f"neither {options.folder / BOXES_FILE} nor the ground truth {text} is here"
        if name not in load_ground_truth(text):
            return f"{text} has no text for {name}"
        return None

    return available


def photo_inputs(name: str, options: PhotoOptions, bw: str = "judge"):
    """Inputs: the photo for the task (and how its ``bw`` comes back, see
    :func:`grader.checks.boxes.found_letters`); for the judge (``PHOTO_ANSWERS``) its boxes
    (``character_boxes.json``) or, where none are listed, the number of characters of its
    text."""

    def make():
        inputs = {"photo": str(options.folder / name), "name": name, "bw": bw}
        boxes = box_truth(options)
        if name in boxes:
            labels, truth = boxes[name]
            return inputs | {"labels": labels, "truth": truth}
        text = load_ground_truth(options.truth_file)[name]
        return inputs | {"characters": sum(ch in CLASSES for ch in "".join(text).upper())}

    return make


def photo_found(inputs, out) -> tuple[str, tuple, np.ndarray]:
    """Judge side: the photo's name, its shape and the boxes findLetters returned,
    validated."""
    problem(out)
    name = inputs["name"]
    shape = tuple(int(s) for s in array(out, "shape", "the photo's shape"))
    found = valid_boxes(out, "bboxes", f"bboxes of findLetters on {name}", shape)
    return name, shape, found


def read_photo(path: str) -> np.ndarray:
    """The photo as ``run_q4.load_photo`` reads it (``skimage.io.imread``)."""
    from skimage.io import imread

    return imread(path)


# (photo, bw mode) -> (q4, what findLetters returned, packed): a photo's checks share one call
_PHOTOS_FOUND: dict = {}


def find_letters_photo_task(sub, inputs):
    """findLetters on the photo at ``inputs['photo']``: its boxes, the photo's shape and
    ``bw`` as ``inputs['bw']`` says (see :func:`grader.checks.boxes.found_letters`). The
    checks of one photo (its boxes, its ``bw``) share one call."""
    q4 = sub.load("q4")
    key = (inputs["photo"], inputs.get("bw", "shape"))
    cached = _PHOTOS_FOUND.get(key)
    if cached is None or cached[0] is not q4:
        try:
            image = read_photo(inputs["photo"])
            result = found_letters(q4.findLetters(image), bw=key[1]) | {
                "shape": np.array(image.shape[:2], dtype=np.int64)
            }
        except Exception as exc:
            result = exc
        _PHOTOS_FOUND.clear()  # one photo's result at a time: they hold images
        _PHOTOS_FOUND[key] = cached = (q4, result)
    if isinstance(cached[1], Exception):
        raise cached[1]
    return dict(cached[1])
