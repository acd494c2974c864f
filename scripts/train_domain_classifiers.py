"""Train the small domain classifiers that kerascenes ships to score generated images.

For each dataset: a conv32-conv64-dense128 classifier trained on the training split, saved
to ``kerascenes/gan/assets/<dataset>_classifier.keras``, and reference statistics of real
images saved to ``<dataset>_reference.npz``: mean and covariance of the training-set
features (for the Frechet distance), 2000 real feature vectors (for KID) and the
real-vs-real figures (test split scored against the training split) that give every
score its scale.

    python scripts/train_domain_classifiers.py --data-dir ../shared/data
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from kerascenes.data.digits import CLASS_NAMES, load_digits, to_unit_float
from kerascenes.gan import domain
from kerascenes.gan.metrics import feature_stats, score_features

EPOCHS = {"mnist": 3, "fashion_mnist": 6}


def train_one(dataset: str, data: Path | None, out_dir: Path, epochs: int, seed: int = 0) -> dict:
    import keras

    x_train, y_train = load_digits(dataset, data, "train")
    x_test, y_test = load_digits(dataset, data, "test")
    x_train, x_test = to_unit_float(x_train)[..., None], to_unit_float(x_test)[..., None]
    model = domain.build_domain_classifier(len(CLASS_NAMES[dataset]), seed)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    start = time.time()
    model.fit(x_train, y_train, batch_size=128, epochs=epochs, validation_data=(x_test, y_test), verbose=2)
    train_s = time.time() - start
    test_acc = float(model.evaluate(x_test, y_test, verbose=0)[1])
    out_dir.mkdir(parents=True, exist_ok=True)
    model_file = out_dir / f"{dataset}_classifier.keras"
    shipped = domain.build_domain_classifier(len(CLASS_NAMES[dataset]), seed)  # uncompiled: no optimizer state
    shipped.set_weights(model.get_weights())
    shipped.save(model_file)

    scorer = domain.DomainScorer(dataset, model, {})
    train_feats, _ = scorer.predict(x_train)
    test_feats, test_probs = scorer.predict(x_test)
    mu, sigma = feature_stats(train_feats)
    rng = np.random.default_rng(seed)
    sample = train_feats[rng.choice(len(train_feats), 2000, replace=False)]
    reference = {"mu": mu, "sigma": sigma, "features": sample}
    real = score_features(test_feats, test_probs, reference, CLASS_NAMES[dataset])
    meta = {
        "dataset": dataset, "epochs": epochs, "test_accuracy": test_acc, "train_seconds": round(train_s, 1),
        "real_fd": real["fd"], "real_kid": real["kid"], "real_confident_share": real["confident_share"],
        "real_n": real["n_samples"], "real_class_histogram": real["class_histogram"],
        "noise_fd": None,
    }
    noise = rng.uniform(0, 1, size=(2000, 28, 28)).astype(np.float32)
    noise_feats, noise_probs = scorer.predict(noise)
    meta["noise_fd"] = score_features(noise_feats, noise_probs, reference, CLASS_NAMES[dataset])["fd"]
    np.savez_compressed(out_dir / f"{dataset}_reference.npz", mu=mu.astype(np.float64), sigma=sigma.astype(np.float64),
                        features=sample.astype(np.float32), meta=np.array(json.dumps(meta)))
    meta["classifier_bytes"] = model_file.stat().st_size
    return meta


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=Path("../shared/data"),
                        help="folder with mnist.npz and fashion_mnist.npz")
    parser.add_argument("--datasets", nargs="+", default=list(CLASS_NAMES), choices=list(CLASS_NAMES))
    parser.add_argument("--out", type=Path, default=domain.ASSETS)
    args = parser.parse_args()
    for dataset in args.datasets:
        npz = args.data_dir / f"{dataset}.npz"
        meta = train_one(dataset, npz if npz.is_file() else None, args.out, EPOCHS[dataset])
        print(json.dumps(meta, indent=2))


if __name__ == "__main__":
    main()
