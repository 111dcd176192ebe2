from __future__ import annotations

import pytest

import losskit


@pytest.mark.parametrize(("alias", "name"), [
    ("l2", "mse"), ("mean_squared_error", "mse"), ("L1", "mae"), ("Huber-Loss", "huber"), ("logcosh", "log_cosh"),
    ("pinball", "quantile"), ("log_loss", "binary_cross_entropy"), ("bce", "binary_cross_entropy"),
    ("xent", "categorical_cross_entropy"), ("categorical crossentropy", "categorical_cross_entropy"),
    ("sparse_categorical_crossentropy", "sparse_categorical_cross_entropy"),
    ("categorical_hinge", "multiclass_hinge"), ("squared_hinge", "squared_hinge"),
])
def test_get_by_name_or_alias(alias: str, name: str) -> None:
    assert losskit.get(alias) is getattr(losskit, name)


def test_every_name_resolves_to_itself() -> None:
    for name in losskit.names():
        assert losskit.get(name).__name__ == name


def test_unknown_name_lists_close_matches() -> None:
    with pytest.raises(ValueError, match=r"unknown loss name 'crossentropy'; did you mean .*crossentropy"):
        losskit.get("crossentropy")
    with pytest.raises(ValueError, match="known losses: batch_triplet, binary_cross_entropy, "):
        losskit.get("zzzz")
