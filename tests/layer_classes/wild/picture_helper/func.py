"""Helpers of a learner's layer file (written for bpverify's tests): the activation it needs,
and a picture viewer that imports a library grading never uses."""

import numpy as np
from PIL import Image  # only show_picture uses it


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def show_picture(img):
    Image.fromarray(np.uint8(img)).show()
