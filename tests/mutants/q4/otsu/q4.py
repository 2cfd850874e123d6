import numpy as np
import skimage
import skimage.color
import skimage.filters
import skimage.measure
import skimage.morphology


# takes a color image
# returns a list of bounding boxes and black_and_white image
def findLetters(image):
    bboxes = []
    bw = None
    # insert processing in here
    # one idea estimate noise -> denoise -> greyscale -> threshold -> morphology -> label -> skip small boxes
    # this can be 10 to 15 lines of code using skimage functions

    image = skimage.filters.gaussian(image, sigma=2, channel_axis=-1)
    gray = skimage.color.rgb2gray(image)
    thresh = skimage.filters.threshold_otsu(gray)
    ink = gray < thresh
    ink = skimage.morphology.closing(ink, skimage.morphology.square(7))
    label_image = skimage.measure.label(ink, connectivity=2)
    for region in skimage.measure.regionprops(label_image):
        # skip small boxes (specks of noise)
        if region.area >= 400:
            bboxes.append(region.bbox)
    bw = (~ink).astype(float)
    return bboxes, bw
