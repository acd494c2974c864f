"""Transfer-learning scene classifiers: head builder, two-stage training, evaluation."""

from kerascenes.classify.config import FitConfig

__all__ = ["FitConfig", "fit_classifier", "evaluate_run", "predict_files", "load_run_model"]


def __getattr__(name):  # lazy: these import TensorFlow
    if name == "fit_classifier":
        from kerascenes.classify.train import fit_classifier

        return fit_classifier
    if name in ("evaluate_run", "predict_files"):
        from kerascenes import inference

        return getattr(inference, name)
    if name == "load_run_model":
        from kerascenes.classify.evaluate import load_run_model

        return load_run_model
    raise AttributeError(name)
