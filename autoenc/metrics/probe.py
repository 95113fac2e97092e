"""A linear probe: how much of a class a representation holds where a straight cut can reach it.

A logistic regression is fitted to the features of one set of images and scored on another;
the features come from a frozen network (the MAE's encoder, the VAE's latent means), so the
probe measures what the network learnt without labels, not what the probe can learn.
"""
from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from autoenc.errors import UserError


def probe_accuracy(train_x, train_y, test_x, test_y) -> float:
    """Share of the test set a logistic regression fitted on the training set classifies
    right (features standardised on the training set; L2 strength scikit-learn's default)."""
    train_x, test_x = np.asarray(train_x, dtype=np.float64), np.asarray(test_x, dtype=np.float64)
    train_y, test_y = np.asarray(train_y), np.asarray(test_y)
    if train_x.ndim != 2 or test_x.ndim != 2 or train_x.shape[1] != test_x.shape[1]:
        raise UserError(f"probe features must be (n, d) arrays of one width, not {train_x.shape} and {test_x.shape}")
    if len(np.unique(train_y)) < 2:
        raise UserError("a probe needs at least two classes in its training set")
    if not (np.isfinite(train_x).all() and np.isfinite(test_x).all()):
        raise UserError("probe features contain NaN or infinite values")
    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    probe.fit(train_x, train_y)
    return float((probe.predict(test_x) == test_y).mean())


def split_probe(features, labels) -> float:
    """The probe with the first half of (features, labels) as its training set and the
    second half as its test set."""
    features, labels = np.asarray(features), np.asarray(labels)
    half = len(labels) // 2
    return probe_accuracy(features[:half], labels[:half], features[half:], labels[half:])
