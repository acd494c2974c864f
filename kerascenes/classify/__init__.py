"""Transfer-learning scene classifiers: head builder, two-stage training, evaluation."""

from kerascenes.classify.config import FitConfig

__all__ = ["FitConfig", "fit_classifier", "evaluate_run", "predict_files"]


def __getattr__(name):  # lazy: these import TensorFlow
    if name == "fit_classifier":
        from kerascenes.classify.train import fit_classifier

        return fit_classifier
    if name in ("evaluate_run", "predict_files", "load_run_model"):
        from kerascenes.classify import evaluate

        return getattr(evaluate, name)
    raise AttributeError(name)
