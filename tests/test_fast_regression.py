"""The regression fast paths beyond ``tests/test_fast.py``: the target's finiteness read from the loss,
and the quantile loss's subgradient."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import torch
import torch.nn.functional as F

import losskit
import losskit.reference as reference
from losskit._core import checks

LOSSES: list[Callable[..., Any]] = [losskit.mse, losskit.mae, losskit.huber, losskit.log_cosh, losskit.quantile]
IDS = [fn.__name__ for fn in LOSSES]


@pytest.fixture
def scans(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the arrays :func:`checks.finite` scanned."""
    calls: list[str] = []
    original = checks.finite

    def spy(xp: Any, name: str, x: Any) -> None:
        calls.append(name)
        original(xp, name, x)

    monkeypatch.setattr(checks, "finite", spy)
    return calls


@pytest.mark.parametrize("fn", LOSSES, ids=IDS)
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_a_finite_loss_spares_the_scan_of_the_target(fn: Callable[..., Any], reduction: str,
                                                     scans: list[str]) -> None:
    pred = torch.randn(50, requires_grad=True)
    loss = fn(pred, torch.randn(50), reduction=reduction)
    torch.autograd.grad(loss, pred)
    assert scans == []


@pytest.mark.parametrize("fn", LOSSES, ids=IDS)
def test_nan_predictions_propagate_and_bad_targets_raise(fn: Callable[..., Any], scans: list[str]) -> None:
    pred, target = torch.randn(6), torch.randn(6)
    pred[2] = float("nan")
    assert torch.isnan(fn(pred, target))
    assert scans == ["target"]  # read once the loss came out NaN: finite, so no error
    for bad in (float("nan"), float("inf")):
        target[4] = bad
        with pytest.raises(ValueError, match="target must be finite"):
            fn(torch.randn(6), target)
        with pytest.raises(ValueError, match="target must be finite"):
            fn(torch.randn(6), target, reduction="none")


def test_an_overflowing_loss_is_inf_not_an_error() -> None:
    """A residual of 1e20 in float32: the mean squared error overflows, and says so."""
    assert losskit.mse(torch.tensor([1e20, 0.0]), torch.zeros(2)).item() == float("inf")


@pytest.mark.parametrize("q", [0.0, 0.3, 1.0])
def test_quantile_subgradient_at_a_tie_is_the_references(q: float) -> None:
    """Where pred equals target the reference's maximum splits its gradient: 1/2 - q."""
    pred = torch.tensor([0.5, 1.0, -2.0], dtype=torch.float64, requires_grad=True)
    target = torch.tensor([0.5, 0.0, 0.0], dtype=torch.float64)
    (grad,) = torch.autograd.grad(losskit.quantile(pred, target, q=q, reduction="sum"), pred)
    (expected,) = torch.autograd.grad(reference.quantile(pred, target, q=q, reduction="sum"), pred)
    torch.testing.assert_close(grad, expected, rtol=1e-15, atol=1e-16)
    torch.testing.assert_close(grad, torch.tensor([0.5 - q, 1 - q, -q], dtype=torch.float64), rtol=1e-15, atol=1e-16)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_mae_without_a_gradient_is_torchs_l1_loss(reduction: str) -> None:
    """With no gradient wanted, the kernel's gradient pass would be wasted: torch's forward computes it."""
    pred, target = torch.randn(2, 4, 5, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    pred[0] = target[0]
    with torch.no_grad():
        fast = losskit.mae(pred.requires_grad_(), target, reduction=reduction)
    torch.testing.assert_close(fast, F.l1_loss(pred.detach(), target, reduction=reduction), rtol=0, atol=0)
    torch.testing.assert_close(losskit.mae(pred.detach(), target, reduction=reduction),
                               reference.mae(pred.detach(), target, reduction=reduction), rtol=1e-15, atol=0)


def test_mae_gradient_of_a_million_residuals_is_exact() -> None:
    """sign(r) / n, with the loss summed pairwise: float32 within rounding of float64 at 2^20 elements."""
    gen = torch.Generator().manual_seed(1)
    pred = (torch.randn(1 << 20, generator=gen) * 1e3 + 5.0).requires_grad_()
    target = torch.randn(1 << 20, generator=gen)
    loss = losskit.mae(pred, target)
    loss.backward()
    exact = (pred.detach().double() - target.double()).abs().mean()
    assert abs(loss.item() - exact.item()) <= 1e-7 * exact.item()
    assert pred.grad is not None
    torch.testing.assert_close(pred.grad, torch.sign(pred.detach() - target) / (1 << 20), rtol=0, atol=0)
