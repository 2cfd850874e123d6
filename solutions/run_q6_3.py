"""Q6.3 (extra credit): an ImageNet classifier on one category's validation images versus
frames of a video of that object that you film.

``python -m solutions.run_q6_3 --video FILE --val-dir DIR --class-index K [--every N]``
classifies ImageNet's validation images of class ``K`` (a folder of images, e.g. the
category's synset folder of ILSVRC2012's validation set) and every N-th frame of the video
with SqueezeNet 1.1's ImageNet weights (from torch's local hub cache; ``--download`` fetches
them), prints both top-1 accuracies and writes ``q6_3.json`` into ``--out``. Frames are read
with imageio (never cv2): GIFs work as installed, other video formats need PyAV
(``pip install av``); a folder of extracted frames works too.
"""

import argparse
import json
import sys
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import torch
from torchvision import models, transforms

from coursedata.scripts import run_script

from .q6_train import *

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".JPEG")


# ----------------------------------------------------------------------------- given
def read_frames(path, every=1, max_frames=None):
    """The frames of a video, or the images of a folder in name order, as RGB arrays (given).

    Parameters
    ----------
    path : path-like
        A video file (any format imageio reads: GIF as installed, MP4 and others with PyAV)
        or a folder of images.
    every : int
        Keep one frame in ``every``.
    max_frames : int, optional
        Stop after this many kept frames.

    Returns
    -------
    list of ndarray
        uint8 arrays of shape (H, W, 3).
    """
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix in IMAGE_SUFFIXES)
        return _keep((iio.imread(p) for p in files), every, max_frames)
    try:
        video = iio.imopen(path, "r")
    except Exception as exc:  # imageio says which plugin it lacks
        raise OSError(
            f"cannot read {path} with imageio ({exc}); for MP4 and most videos "
            "`pip install av`, or extract its frames into a folder and pass that"
        ) from None
    with video:
        return _keep(video.iter(), every, max_frames)


def _keep(frames, every, max_frames):
    kept = []
    for i, frame in enumerate(frames):
        if i % every:
            continue
        frame = np.asarray(frame)
        if frame.ndim == 2:
            frame = np.stack([frame] * 3, axis=-1)
        kept.append(frame[..., :3].astype(np.uint8))
        if max_frames is not None and len(kept) >= max_frames:
            break
    return kept


def imagenet_transform():
    """ImageNet evaluation preprocessing for an (H, W, 3) uint8 array (given)."""
    return transforms.Compose(
        [
            transforms.ToPILImage(),
            transforms.Resize(256),
            transforms.CenterCrop(224),
            transforms.ToTensor(),
            transforms.Normalize((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
        ]
    )


# ----------------------------------------------------------------------------- Q6.3
def category_accuracy(model, images, class_index, transform, batch_size=32):
    """Q6.3: the fraction of ``images`` that ``model`` classifies as ``class_index`` (top-1).

    Evaluation mode, no gradients; the images go through ``transform`` and the model in
    batches of at most ``batch_size``, on the device of the model's parameters.

    Parameters
    ----------
    model : torch.nn.Module
        Maps a (B, 3, H, W) batch to (B, n_classes) scores.
    images : list of ndarray
        uint8 arrays of shape (H, W, 3).
    class_index : int
        The expected class.
    transform : callable
        ndarray -> Tensor (3, H', W').
    batch_size : int

    Returns
    -------
    float
        In [0, 1].
    """
    device = next(model.parameters()).device
    model.eval()
    hits = 0
    with torch.no_grad():
        for start in range(0, len(images), batch_size):
            batch = torch.stack([transform(im) for im in images[start : start + batch_size]])
            hits += (model(batch.to(device)).argmax(dim=1) == class_index).sum().item()
    return hits / len(images)


# ----------------------------------------------------------------------------- given
def main(argv=None):
    """Compare SqueezeNet's top-1 accuracy on the validation images and the video frames."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--video", required=True, help="video file or folder of frames")
    parser.add_argument("--val-dir", required=True, help="the category's validation images")
    parser.add_argument("--class-index", type=int, required=True, help="ImageNet index 0-999")
    parser.add_argument("--every", type=int, default=5, help="keep one frame in N (default 5)")
    parser.add_argument("--max-frames", type=int, default=200)
    parser.add_argument("--download", action="store_true", help="fetch SqueezeNet's weights")
    parser.add_argument("--out", default="out", help="output folder (default out/)")
    return run_script(
        parser, argv, __name__, _run, category_accuracy, errors=(DatasetMissing, OSError)
    )


def _run(args):
    weights = squeezenet_weights(args.download)
    frames = read_frames(args.video, args.every, args.max_frames)
    val_images = read_frames(args.val_dir)
    model = models.squeezenet1_1(weights=weights).to(pick_device())
    name = weights.meta["categories"][args.class_index]
    result = {
        "class_index": args.class_index,
        "category": name,
        "val_images": len(val_images),
        "frames": len(frames),
        "val_accuracy": category_accuracy(
            model, val_images, args.class_index, imagenet_transform()
        ),
        "video_accuracy": category_accuracy(model, frames, args.class_index, imagenet_transform()),
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "q6_3.json").write_text(json.dumps(result, indent=1), encoding="utf-8")
    print(
        f"Q6.3 '{name}': top-1 accuracy {result['val_accuracy']:.3f} on {len(val_images)} "
        f"validation images, {result['video_accuracy']:.3f} on {len(frames)} video frames"
    )


if __name__ == "__main__":
    sys.exit(main())
