"""Bag of visual words: local descriptors -> visual vocabulary -> encodings -> SVM.

Main entry points: :class:`BagOfVisualWords` (a scikit-learn transformer from images to
vectors), :func:`make_pipeline` / :func:`make_classifier` (named classifiers) and
:func:`save_model` / :func:`load_model` (pickle-free model files). Importing this package
does not import OpenCV; detectors import it when they run.
"""

from kerascenes.bow.classifiers import CLASSIFIERS, make_classifier, make_pipeline
from kerascenes.bow.detectors import DETECTORS
from kerascenes.bow.encoding import ENCODINGS
from kerascenes.bow.kernels import IntersectionMap, KernelSVC, intersection_kernel
from kerascenes.bow.persistence import load_model, save_model
from kerascenes.bow.transformer import BagOfVisualWords

__all__ = [
    "BagOfVisualWords", "CLASSIFIERS", "DETECTORS", "ENCODINGS", "IntersectionMap", "KernelSVC",
    "intersection_kernel", "load_model", "make_classifier", "make_pipeline", "save_model",
]
