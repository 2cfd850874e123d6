"""Q4.2: finding the letters in a photo of handwriting (the handout's ``q4.py``).

``findLetters(image)`` returns one box per handwritten character and the page as a clean
binary image, ``bw``, from which ``run_q4`` crops the letters for the network.
"""

import numpy as np
import scipy.ndimage as ndi
import skimage.filters
import skimage.measure
import skimage.morphology
import skimage.restoration

LUMINANCE = (0.2125, 0.7154, 0.0721)  # ITU-R BT.709, as skimage.color.rgb2gray


# ----------------------------------------------------------------------------- given
def as_gray(image):
    """The photo as a grayscale float image in ``[0, 1]`` (given).

    Accepts RGB, RGBA (composited over white) and grayscale images, integer (``uint8``,
    ``uint16`` ...) or float (``[0, 1]``).

    Parameters
    ----------
    image : ndarray, shape (H, W), (H, W, 3) or (H, W, 4)

    Returns
    -------
    gray : ndarray of float32, shape (H, W)
        Luminance, 0 black and 1 white.
    """
    image = np.asarray(image)
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (3, 4)):
        raise ValueError(f"expected an (H, W), (H, W, 3) or (H, W, 4) image, got {image.shape}")
    scale = 1.0 / np.iinfo(image.dtype).max if image.dtype.kind in "ui" else 1.0
    if image.ndim == 2:
        gray = image * np.float32(scale)
    else:
        # channel by channel: much faster than image @ weights on a 12-megapixel photo
        gray = sum(image[..., c] * np.float32(w * scale) for c, w in enumerate(LUMINANCE))
        if image.shape[2] == 4:
            alpha = image[..., 3] * np.float32(scale)
            gray = gray * alpha + (1 - alpha)
    return np.clip(gray, 0, 1).astype(np.float32, copy=False)


# ----------------------------------------------------------------------------- Q4.2
def findLetters(image):
    """Q4.2: find the handwritten characters in a photo.

    Denoise, threshold, clean up with morphology, label the connected components, and keep
    one box per character: drop specks and punctuation (dots) by their size relative to the
    page's typical character, and join the pieces of a character written in several
    strokes. The paper may be unevenly lit or shadowed; the photo may have 1 to 12
    megapixels.

    Graded (Q4.2) on the four sample photos (each one's boxes and ``bw``) and on a page with a
    single letter; generated pages with smaller letters under uneven light, blank pages,
    other resolutions and RGBA/float input are feedback, without points.

    Parameters
    ----------
    image : ndarray, shape (H, W, 3), (H, W, 4) or (H, W)
        The photo: RGB, RGBA or grayscale, integer (``uint8``) or float in ``[0, 1]``.

    Returns
    -------
    bboxes : ndarray of int, shape (N, 4)
        One ``[y1, x1, y2, x2]`` per character, in the input's pixel coordinates, with
        ``y1 < y2`` and ``x1 < x2``: the character is ``bw[y1:y2, x1:x2]``.
    bw : ndarray of float, shape (H, W)
        The page in ``[0, 1]``: characters black (0) on white (1).
    """
    # Hint: gray = as_gray(image); denoise (skimage.filters.gaussian, or block means of a
    # large photo); threshold: ink is much darker than the paper *around it* (the lighting is
    # uneven: compare with a local background, e.g. a grey closing, or use a local threshold);
    # clean up with skimage.morphology; label connected components (skimage.measure.label,
    # regionprops); drop components that are small against the page's typical character (its
    # median height) and join the pieces of one character; boxes [y1, x1, y2, x2];
    # bw = 1.0 where paper, 0.0 where ink, shaped like the photo.
    raise NotImplementedError("Q4.2 findLetters")
