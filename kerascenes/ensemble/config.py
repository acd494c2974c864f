"""``EnsembleConfig``: the options of ``kerascenes ensemble``."""

from __future__ import annotations

from dataclasses import dataclass

from kerascenes.config import DEFAULT_SEED, TaskConfig, option
from kerascenes.errors import KerascenesError

METHODS = ("geometric", "arithmetic", "stacking")


@dataclass
class EnsembleConfig(TaskConfig):
    """Options of ``kerascenes ensemble`` and :func:`kerascenes.ensemble.fit_ensemble`.

    ``data`` and ``val_data`` left at ``None`` are the members' own (which must agree): the
    weights are learned on ``data`` (out of fold), ``val_data`` is only for reporting.
    """

    KIND = "ensemble"
    COMMAND = "kerascenes ensemble"

    members: tuple[str, ...] = option((), "Run folders to combine (classifier, ViT or bag-of-words runs).", cli=False)
    method: str = option("geometric", "How probabilities combine: a weighted geometric or arithmetic mean, or a "
                                      "stacked logistic regression.", choices=METHODS)
    folds: int = option(5, "Folds of the out-of-fold probabilities the weights are learned from.")
    data: str | None = option(None, "Training images the weights are learned on.", default_text="the members'")
    val_data: str | None = option(None, "Images the ensemble is reported on.", default_text="the members'")
    seed: int = option(DEFAULT_SEED, "Seed of the folds and of the refitted heads.")
    name: str | None = option(None, "Run name (default: ensemble-<time>); a taken name gets a suffix.")
    logdir: str = option("logs", "Folder of all runs (and of the results workbook).")

    def validate(self) -> "EnsembleConfig":
        super().validate()
        if len(self.members) < 2:
            raise KerascenesError(f"An ensemble needs at least 2 member runs, got {len(self.members)}; pass two or "
                                  "more run folders.")
        if len(set(self.members)) != len(self.members):
            raise KerascenesError("The same run is given twice as a member; pass each run folder once.")
        if not 2 <= self.folds <= 20:
            raise KerascenesError(f"--folds must be 2 to 20, got {self.folds}.")
        return self

    def resolve(self) -> "EnsembleConfig":
        """Fill ``data`` and ``val_data`` from the members (they must agree) and check the outputs."""
        from kerascenes.ensemble.members import shared_option
        from kerascenes.runs import check_output_dir

        self.validate()
        check_output_dir(self.logdir, "--logdir")
        return self.replace(data=self.data or shared_option(self.members, "data"),
                            val_data=self.val_data or shared_option(self.members, "val_data", required=False))
