import numpy as np

import skimage
import skimage.color
import skimage.filters
import skimage.measure
import skimage.morphology
import skimage.restoration
import skimage.segmentation


# takes a color image
# returns a list of bounding boxes and black_and_white image
def findLetters(image):
    bboxes = []
    bw = None
    # denoise -> greyscale -> threshold -> morphology -> label -> skip small boxes
    # (written for scikit-image 0.16 and NumPy 1.17: multichannel=, rgb2grey, selem=,
    # neighbors=, np.float)
    image = skimage.filters.gaussian(image, sigma=1.5, multichannel=True)
    grey = skimage.color.rgb2grey(image)
    thresh = skimage.filters.threshold_otsu(grey)
    letters = skimage.morphology.closing(grey < thresh, selem=skimage.morphology.disk(4))
    label_image = skimage.measure.label(letters, neighbors=8, background=0)
    for region in skimage.measure.regionprops(label_image):
        if region.area >= 300:
            minr, minc, maxr, maxc = region.bbox
            bboxes.append(np.array([minr, minc, maxr, maxc]))
    bw = (~letters).astype(np.float)
    return bboxes, bw
