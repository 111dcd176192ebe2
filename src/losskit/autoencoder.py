"""Autoencoder losses: reconstruction errors and divergences between distributions.

A (variational) autoencoder is trained on the reconstruction error of each example -- summed over
its features, the convention of VAE code, so that it is on the scale of a log-likelihood -- plus,
for a VAE, the KL divergence of the encoder's Gaussian from the prior (:func:`gaussian_kl`).
:func:`kl_divergence` and :func:`js_divergence` compare two categorical distributions
(distillation, label distributions).
"""

from __future__ import annotations

from ._core import checks, logprob
from ._core.backend import Array, Namespace
from ._core.dispatch import fast_path
from ._core.inputs import Call, gather, prepare
from ._core.primitives import log_prob
from ._core.registry import register

__all__ = ["gaussian_kl", "js_divergence", "kl_divergence", "reconstruction"]


def _per_example(xp: Namespace, x: Array, features: str) -> Array:
    """``x`` summed (or averaged) over every axis but the first."""
    if x.ndim < 2:
        return x
    axes = tuple(range(1, x.ndim))
    return xp.mean(x, axis=axes) if features == "mean" else xp.sum(x, axis=axes)


@register("reconstruction_loss")
@fast_path("_autoencoder")
def reconstruction(pred: Array, target: Array, *, kind: str = "mse", from_logits: bool = False,
                   features: str = "sum", weight: Array | None = None, reduction: str = "mean") -> Array:
    r"""Reconstruction error of an autoencoder: one loss per example over all its features.

    .. math::
        \ell = \sum_j e(\hat x_j, x_j), \qquad
        e = (\hat x - x)^2 \;|\; |\hat x - x| \;|\; -x \log p - (1 - x) \log(1 - p)

    for ``kind="mse"``, ``"mae"`` and ``"bce"``. Summing over the features (``features="sum"``)
    puts the error on the scale of a log-likelihood -- a Gaussian decoder with unit variance
    gives ``mse / 2``, a Bernoulli decoder ``bce`` -- which is what a VAE's KL term must be
    balanced against; ``features="mean"`` averages instead (then ``"mse"`` is the element-wise
    :func:`losskit.mse` averaged per example).

    Args:
      pred: reconstructions ``(N, ...)``: real values, probabilities (``"bce"``), or logits
        (``"bce"`` with ``from_logits=True``).
      target: the inputs, of ``pred``'s shape (in [0, 1] for ``"bce"``).
      kind: ``"mse"``, ``"mae"`` or ``"bce"``.
      from_logits: with ``"bce"``, whether ``pred`` holds logits.
      features: ``"sum"`` or ``"mean"`` over the features of an example.
      weight, reduction: see :func:`losskit.mse`; ``weight`` is ``(N,)``.

    Returns:
      The loss of each example, ``(N,)``, or the 0-d cost.

    ``kind="bce"`` with ``reduction="sum"`` equals ``F.binary_cross_entropy(..., reduction="sum")``
    of the PyTorch VAE example; ``"mse"`` with ``features="mean"`` equals keras'
    ``mean_squared_error`` on flattened examples.

    Reference: Kingma & Welling, "Auto-Encoding Variational Bayes", ICLR 2014.

    Example:
      >>> import numpy as np, losskit
      >>> x = np.array([[0.0, 1.0, 1.0], [1.0, 0.0, 0.5]])
      >>> losskit.reconstruction(x + 0.1, x, reduction="none").round(6).tolist()
      [0.03, 0.03]
    """
    kind = checks.choice("kind", kind, ("mse", "mae", "bce"))
    features = checks.choice("features", features, ("sum", "mean"))
    if from_logits and kind != "bce":
        raise ValueError(f"from_logits applies to kind='bce' only, got kind={kind!r}")
    a = prepare(pred, target, weight=weight, reduction=reduction)
    xp = a.xp
    if a.pred.ndim == 0:
        raise ValueError("pred must have a batch axis, got a 0-d array")
    if kind == "bce":
        checks.within(xp, "target", a.target, 0.0, 1.0)
        log_p, log_q = logprob.binary(a, from_logits)
        error = -(a.target * log_p + (1.0 - a.target) * log_q)
    else:
        r = a.pred - a.target
        error = r * r if kind == "mse" else xp.abs(r)
    return a.finish(_per_example(xp, error, features))


def _xlogx_ratio(xp: Namespace, t: Array, log_t: Array, log_p: Array) -> Array:
    """``t (log t - log p)`` with ``0 log 0 = 0``: a zero ``t`` drops its term, value and gradient."""
    present = t > 0
    zero = xp.zeros_like(t)
    # Both logs are masked: log p may be -inf where t is 0, and 0 * inf in a gradient is NaN.
    return xp.where(present, t * (xp.where(present, log_t, zero) - xp.where(present, log_p, zero)), zero)


def _distribution(call: Call, x: Array, axis: int, name: str, is_log: bool) -> tuple[Array, Array]:
    """``(x, log x)`` of a validated distribution given as probabilities or (``is_log``) log-probabilities."""
    xp = call.xp
    flag = "log_pred" if name == "pred" else "log_target"
    if is_log:
        bad = ~(x <= 0.0)
        if checks.any_true(xp, bad, f"{name} holds log-probabilities ({flag}=True), which are <= 0"):
            raise ValueError(f"{name} holds log-probabilities ({flag}=True), which are <= 0; "
                             f"found {checks.first(xp, x, bad)}")
        p = xp.exp(x)
        logprob.check_sums_to_one(call, p, axis, name=f"exp({name})")
        return p, x
    hint = f"; if {name} holds log-probabilities (e.g. torch's kl_div input), pass {flag}=True"
    logprob.check_probabilities(call, x, axis, name=name, hint=hint)
    return x, log_prob(xp, x, call.eps)


@register("kl_div", "kld", "kullback_leibler_divergence", "relative_entropy")
@fast_path("_autoencoder")
def kl_divergence(pred: Array, target: Array, *, axis: int = -1, log_pred: bool = False, log_target: bool = False,
                  weight: Array | None = None, reduction: str = "mean") -> Array:
    r"""Kullback-Leibler divergence of the predicted distribution from the target distribution.

    .. math:: \ell = \mathrm{KL}(y \,\|\, p) = \sum_c y_c \,(\log y_c - \log p_c), \qquad 0 \log 0 = 0

    the cross-entropy of ``pred`` against ``target`` minus the target's entropy: 0 exactly when
    the distributions are equal, and the gradient in ``pred`` is the cross-entropy's.

    **Argument order.** ``pred`` (the model's distribution) comes first and ``target`` second, as
    in every losskit loss, and both are probabilities by default. ``torch.nn.functional.kl_div``
    takes the model's *log*-probabilities first; passing them here without ``log_pred=True`` is
    an error (they are not in [0, 1], and their sum is not 1), never a silent wrong number.

    Args:
      pred: the model's distribution along ``axis`` (probabilities, or log-probabilities with
        ``log_pred=True``, e.g. a ``log_softmax`` output).
      target: the target distribution, of ``pred``'s shape (probabilities, or log-probabilities
        with ``log_target=True``); zeros allowed, and each must sum to 1.
      axis: the class axis.
      log_pred: whether ``pred`` holds log-probabilities.
      log_target: whether ``target`` holds log-probabilities (``-inf`` for a zero probability).
      weight, reduction: see :func:`losskit.mse`; the loss has ``pred``'s shape without ``axis``.

    Returns:
      The divergence of each example, or the 0-d cost. ``"mean"`` averages over examples:
      torch's ``reduction="batchmean"`` (torch's ``"mean"`` divides by the number of elements).

    Equals ``F.kl_div(log p, y, reduction="batchmean")``, keras' ``kl_divergence`` (which clips
    both inputs to ``[1e-7, 1]``) and ``optax.kl_divergence(log p, y)`` summed over the last axis.

    Reference: Kullback & Leibler, "On Information and Sufficiency", 1951.

    Example:
      >>> import numpy as np, losskit
      >>> p, y = np.array([[0.5, 0.25, 0.25]]), np.array([[1.0, 0.0, 0.0]])
      >>> round(float(losskit.kl_divergence(p, y)), 6)
      0.693147
    """
    a = prepare(pred, target, weight=weight, reduction=reduction, finite=not log_target)
    ax = checks.axis(axis, a.pred.ndim)
    _, log_p = _distribution(a, a.pred, ax, "pred", log_pred)
    y, log_y = _distribution(a, a.target, ax, "target", log_target)
    return a.finish(a.xp.sum(_xlogx_ratio(a.xp, y, log_y, log_p), axis=ax))


@register("jensen_shannon", "jsd", "js_div")
@fast_path("_autoencoder")
def js_divergence(pred: Array, target: Array, *, axis: int = -1, weight: Array | None = None,
                  reduction: str = "mean") -> Array:
    r"""Jensen-Shannon divergence: the symmetric, bounded relative of the KL divergence.

    .. math:: \ell = \tfrac12 \mathrm{KL}(p \,\|\, m) + \tfrac12 \mathrm{KL}(y \,\|\, m), \qquad m = \tfrac12 (p + y)

    Symmetric in ``pred`` and ``target``, finite when one distribution has zeros where the other
    does not, and bounded by :math:`\log 2` (reached by disjoint supports). Its square root is a
    metric. The divergence a GAN's optimal discriminator turns the minimax game into.

    Args:
      pred: the model's probabilities along ``axis``.
      target: target probabilities of ``pred``'s shape; zeros allowed, each summing to 1.
      axis: the class axis.
      weight, reduction: see :func:`kl_divergence`.

    Returns:
      The divergence of each example, or the 0-d cost.

    Equals ``scipy.spatial.distance.jensenshannon(p, y) ** 2`` (natural log).

    Reference: Lin, "Divergence measures based on the Shannon entropy", IEEE Trans. Inf. Theory 1991.

    Example:
      >>> import numpy as np, losskit
      >>> round(float(losskit.js_divergence(np.array([[1.0, 0.0]]), np.array([[0.0, 1.0]]))), 6)  # log 2
      0.693147
    """
    a = prepare(pred, target, weight=weight, reduction=reduction)
    xp = a.xp
    ax = checks.axis(axis, a.pred.ndim)
    p, log_p = _distribution(a, a.pred, ax, "pred", False)
    y, log_y = _distribution(a, a.target, ax, "target", False)
    m = 0.5 * (p + y)
    log_m = log_prob(xp, m, a.eps)
    return a.finish(0.5 * xp.sum(_xlogx_ratio(xp, p, log_p, log_m) + _xlogx_ratio(xp, y, log_y, log_m), axis=ax))


@register("vae_kl", "kl_normal")
@fast_path("_autoencoder")
def gaussian_kl(mean: Array, log_var: Array, *, axis: int = -1, weight: Array | None = None,
                reduction: str = "mean") -> Array:
    r"""KL divergence of a diagonal Gaussian from the standard normal: the VAE regulariser.

    .. math::
        \ell = \mathrm{KL}\big(\mathcal N(\mu, e^{v}) \,\|\, \mathcal N(0, I)\big)
             = \tfrac12 \sum_j \big(\mu_j^2 + e^{v_j} - 1 - v_j\big)

    with :math:`e^v - 1 - v` taken from its Taylor series for :math:`|v| < 2^{-10}` and as
    :math:`\mathrm{expm1}(v) - v` above, so it keeps its relative precision where the variance is
    close to 1 (computed as written it cancels to nothing there). Finite for every ``log_var``
    whose exponential is finite; 0 at ``mean = 0, log_var = 0``.

    Args:
      mean: the encoder's means :math:`\mu`, ``(N, D)`` (latents along ``axis``).
      log_var: the encoder's log-variances :math:`v = \log \sigma^2`, of ``mean``'s shape.
      axis: the latent axis, summed over.
      weight, reduction: see :func:`losskit.mse`; the loss has ``mean``'s shape without ``axis``.

    Returns:
      The divergence of each example, or the 0-d cost.

    Equals ``-0.5 * torch.sum(1 + logvar - mu**2 - logvar.exp(), dim=-1)`` of the PyTorch VAE
    example (per example; the example's sum over the batch is ``reduction="sum"``).

    Reference: Kingma & Welling, "Auto-Encoding Variational Bayes", ICLR 2014, appendix B.

    Example:
      >>> import numpy as np, losskit
      >>> losskit.gaussian_kl(np.array([[0.0, 0.0], [1.0, 0.0]]), np.zeros((2, 2)), reduction="none").tolist()
      [0.0, 0.5]
    """
    call, (mu, v) = gather({"mean": mean, "log_var": log_var}, weight=weight, reduction=reduction)
    xp = call.xp
    checks.same_shape(mu, v, "log_var", "mean")
    ax = checks.axis(axis, mu.ndim, "mean")
    checks.finite(xp, "log_var", v)
    small = xp.abs(v) < 2.0**-10
    # The series' first omitted term, v^6/5040, is below 2^-62 of its first, v^2/2.
    series = v * v * (0.5 + v * (1 / 6 + v * (1 / 24 + v * (1 / 120 + v / 720))))
    excess = xp.where(small, series, xp.expm1(v) - v)  # e^v - 1 - v >= 0
    return call.finish(0.5 * xp.sum(mu * mu + excess, axis=ax))
