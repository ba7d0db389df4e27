import os, json
import numpy as np
import h5py

BASE_DIR = os.path.join(os.path.dirname(__file__), "datasets/coco_captioning")


def load_coco_data(base_dir=BASE_DIR, max_train=None, pca_features=True):
    data = {}
    with h5py.File(os.path.join(base_dir, "coco2014_captions.h5"), "r") as f:
        for k, v in f.items():
            data[k] = np.asarray(v)
    return data
