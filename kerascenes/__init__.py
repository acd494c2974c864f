"""kerascenes: scene classification and image generation with Keras 3.

Importing the package is cheap: TensorFlow, OpenCV and torch are imported only by
the modules that need them, so ``import kerascenes`` and ``kerascenes --help`` stay fast.
"""

from kerascenes.errors import KerascenesError

__version__ = "0.1.0"

__all__ = ["KerascenesError", "__version__"]
