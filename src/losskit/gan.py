"""Losses of generative adversarial networks: the discriminator's, the generator's, and the gradient penalties.

Every input is the discriminator's raw score (a logit, or a Wasserstein critic's unbounded value)
on a batch of real examples, ``real``, and of generated ones, ``fake``; :math:`D = \\sigma(\\cdot)` is
never formed, so scores of any finite size give a finite loss and gradient.

A discriminator loss has two terms, one per batch. ``reduction="mean"`` is the **sum of the two
means**, as DCGAN-style code adds ``loss_real + loss_fake``, so ``real`` and ``fake`` may hold
different numbers of examples; ``"sum"`` is the sum of the two sums; ``"none"`` returns the
per-pair loss :math:`\\ell_i = \\ell_\\text{real}(r_i) + \\ell_\\text{fake}(f_i)`, which needs ``real``
and ``fake`` of the same shape -- and then ``mean == sum / N``, as for every losskit loss.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from array_api_compat import is_jax_namespace, is_torch_namespace

from ._core import checks
from ._core.backend import Array, Namespace
from ._core.dispatch import fast_path
from ._core.inputs import Call, gather
from ._core.primitives import log_sigmoid, safe_sqrt, softplus
from ._core.reduction import is_counting
from ._core.registry import register

__all__ = ["gan_discriminator_loss", "gan_generator_loss", "gan_minimax_value", "gradient_penalty", "r1_penalty"]

KINDS = ("minimax", "non_saturating", "least_squares", "wasserstein", "hinge", "relativistic")


def _pairs(real: Array, fake: Array) -> None:
    """``real`` and ``fake`` pair up example by example: the relativistic kind needs it."""
    if tuple(real.shape) != tuple(fake.shape):
        raise ValueError(
            f"kind='relativistic' compares real[i] with fake[i]: fake must have the shape of real "
            f"{tuple(real.shape)}, got {tuple(fake.shape)}"
        )


def _size(x: Array) -> int:
    return math.prod(tuple(x.shape))


def _two_terms(call: Call, on_real: Array, on_fake: Array) -> Array:
    """The discriminator's per-pair loss, or (for batches of different sizes) its 0-d cost already."""
    if tuple(on_real.shape) == tuple(on_fake.shape):
        return on_real + on_fake
    shapes = f"real {tuple(on_real.shape)} and fake {tuple(on_fake.shape)}"
    if call.reduction == "none":
        raise ValueError(
            f"reduction='none' returns one loss per pair (real[i], fake[i]) and needs real and fake of the "
            f"same shape, got {shapes}; 'mean' and 'sum' accept batches of different sizes"
        )
    if call.weight is not None:
        raise ValueError(f"weight holds one weight per pair (real[i], fake[i]) and needs real and fake of the "
                         f"same shape, got {shapes}")
    xp = call.xp
    if call.reduction == "sum":
        if is_counting():
            raise ValueError(f"mean_parts needs real and fake of the same shape, got {shapes}: the mean of batches "
                             f"of different sizes is the sum of two means, not one total over one count")
        return xp.sum(on_real) + xp.sum(on_fake)
    # An empty batch contributes a mean of 0, the library's convention.
    return xp.sum(on_real) / max(_size(on_real), 1) + xp.sum(on_fake) / max(_size(on_fake), 1)


@register("gan_d_loss", "discriminator_loss")
@fast_path("_gan")
def gan_discriminator_loss(real: Array, fake: Array, *, kind: str = "non_saturating", weight: Array | None = None,
                           reduction: str = "mean") -> Array:
    r"""The discriminator's (or critic's) loss of a GAN, from its raw scores on real and fake examples.

    With :math:`r` = ``real``, :math:`f` = ``fake`` (logits, :math:`D = \sigma`), the loss of a
    pair, :math:`\ell = \ell_\text{real}(r) + \ell_\text{fake}(f)`, is by ``kind``:

    .. math::
        \text{minimax, non\_saturating:}\quad & -\log D(r) - \log(1 - D(f))
            = \operatorname{softplus}(-r) + \operatorname{softplus}(f) \\
        \text{least\_squares:}\quad & \tfrac12 (r - 1)^2 + \tfrac12 f^2 \\
        \text{wasserstein:}\quad & f - r \\
        \text{hinge:}\quad & \max(0, 1 - r) + \max(0, 1 + f) \\
        \text{relativistic:}\quad & -\log \sigma(r - f) = \operatorname{softplus}(f - r)

    The two cross-entropy kinds differ only for the generator (:func:`gan_generator_loss`); for
    the discriminator both are :func:`losskit.binary_cross_entropy` with label 1 on ``real`` and 0
    on ``fake``. ``least_squares`` is LSGAN with labels :math:`a = 0`, :math:`b = c = 1` on the raw
    output, with the paper's factor :math:`\tfrac12` (as tf-gan; ``MSELoss(D(x), 1) + MSELoss(D(G(z)), 0)``
    without it is twice this). ``wasserstein`` is the WGAN critic loss (negative; add
    :func:`gradient_penalty` or clip the weights to keep the critic Lipschitz). ``hinge`` is the
    loss of SNGAN, SAGAN and BigGAN. ``relativistic`` is the relativistic standard GAN (RSGAN): a
    real example must score above the fake one it is paired with.

    Args:
      real: the discriminator's scores on real examples, any shape (``(N,)``, or ``(N, 1, H, W)``
        for a patch discriminator).
      fake: its scores on generated examples. For ``reduction="mean"`` and ``"sum"`` it may have a
        different shape from ``real`` (a batch of another size); ``"none"``, ``weight`` and
        ``kind="relativistic"`` pair ``real[i]`` with ``fake[i]`` and need the same shape.
      kind: one of ``"minimax"``, ``"non_saturating"``, ``"least_squares"``, ``"wasserstein"``,
        ``"hinge"``, ``"relativistic"``.
      weight: optional non-negative weights of each pair, 0-d or of ``real``'s rank; both terms of a
        pair get its weight, so ``"mean"`` is the sum of the two weighted means.
      reduction: ``"none"`` (the per-pair loss), ``"mean"`` (the sum of the mean over ``real`` and
        the mean over ``fake``; for the relativistic kind the mean over pairs) or ``"sum"``.

    Returns:
      The per-pair loss of ``real``'s shape, or the 0-d cost.

    Equals the DCGAN recipe ``bce(D(x), 1) + bce(D(G(z)), 0)`` with
    ``torch.nn.functional.binary_cross_entropy_with_logits``; tf-gan's ``minimax_discriminator_loss``
    and ``modified_discriminator_loss`` with ``label_smoothing=0`` (their default, 0.25, smooths the
    real labels); tf-gan's ``least_squares_discriminator_loss`` and
    ``wasserstein_discriminator_loss``. keras and optax have no GAN losses.

    Reference: Goodfellow et al., "Generative Adversarial Nets", NeurIPS 2014; Mao et al., "Least
    Squares Generative Adversarial Networks", ICCV 2017; Arjovsky et al., "Wasserstein GAN", ICML
    2017; Lim & Ye, "Geometric GAN", 2017, and Miyato et al., "Spectral Normalization for GANs",
    ICLR 2018 (hinge); Jolicoeur-Martineau, "The relativistic discriminator", ICLR 2019.

    Example:
      >>> import numpy as np, losskit
      >>> real, fake = np.array([2.0, 0.0]), np.array([-1.0, 0.0])
      >>> losskit.gan_discriminator_loss(real, fake, reduction="none").round(6).tolist()
      [0.44019, 1.386294]
      >>> float(losskit.gan_discriminator_loss(real, fake, kind="hinge"))
      1.0
    """
    kind = checks.choice("kind", kind, KINDS)
    call, (real, fake) = gather({"real": real, "fake": fake}, weight=weight, reduction=reduction)
    xp = call.xp
    if kind == "relativistic":
        _pairs(real, fake)
        return call.finish(softplus(xp, fake - real))
    if kind in ("minimax", "non_saturating"):
        on_real, on_fake = softplus(xp, -real), softplus(xp, fake)
    elif kind == "least_squares":
        miss = real - 1.0
        on_real, on_fake = 0.5 * (miss * miss), 0.5 * (fake * fake)
    elif kind == "wasserstein":
        on_real, on_fake = -real, fake
    else:
        on_real, on_fake = xp.clip(1.0 - real, min=0.0), xp.clip(1.0 + fake, min=0.0)
    return call.finish(_two_terms(call, on_real, on_fake))


@register("gan_g_loss", "generator_loss")
@fast_path("_gan")
def gan_generator_loss(fake: Array, *, kind: str = "non_saturating", real: Array | None = None,
                       weight: Array | None = None, reduction: str = "mean") -> Array:
    r"""The generator's loss of a GAN, from the discriminator's raw scores on generated examples.

    With :math:`f` = ``fake`` (logits, :math:`D = \sigma`) and, for the relativistic kind, the
    paired real scores :math:`r` = ``real``, the loss of an example is by ``kind``:

    .. math::
        \text{minimax:}\quad & \log(1 - D(f)) = -\operatorname{softplus}(f) \\
        \text{non\_saturating:}\quad & -\log D(f) = \operatorname{softplus}(-f) \\
        \text{least\_squares:}\quad & \tfrac12 (f - 1)^2 \\
        \text{wasserstein, hinge:}\quad & -f \\
        \text{relativistic:}\quad & -\log \sigma(f - r) = \operatorname{softplus}(r - f)

    ``minimax`` is the generator's side of the original two-player game: it saturates, its
    gradient :math:`-\sigma(f)` vanishing exactly when the discriminator rejects the fakes, early in
    training. ``non_saturating`` (the default, Goodfellow et al.'s practical fix) has the same fixed
    point and gradient :math:`-\sigma(-f)`, near -1 there. ``minimax`` and ``wasserstein`` losses are
    negative; only their gradients matter.

    Args:
      fake: the discriminator's scores on generated examples, any shape.
      kind: as in :func:`gan_discriminator_loss`.
      real: the discriminator's scores on real examples, of ``fake``'s shape: required by
        ``kind="relativistic"`` and refused by every other kind, which does not use it.
      weight: optional non-negative weights, 0-d or of ``fake``'s rank.
      reduction: ``"none"``, ``"mean"`` or ``"sum"``.

    Returns:
      The loss of ``fake``'s shape, or the 0-d cost.

    Equals the DCGAN recipe ``bce(D(G(z)), 1)`` (non-saturating); tf-gan's
    ``modified_generator_loss``, ``least_squares_generator_loss`` and
    ``wasserstein_generator_loss``; tf-gan's ``minimax_generator_loss`` adds a term constant in the
    generator. The hinge generator loss is the Wasserstein one, as in SNGAN and BigGAN.

    Reference: see :func:`gan_discriminator_loss`.

    Example:
      >>> import numpy as np, losskit
      >>> fake = np.array([-3.0, 0.0])
      >>> losskit.gan_generator_loss(fake, reduction="none").round(6).tolist()
      [3.048587, 0.693147]
      >>> losskit.gan_generator_loss(fake, kind="minimax", reduction="none").round(6).tolist()
      [-0.048587, -0.693147]
    """
    kind = checks.choice("kind", kind, KINDS)
    if kind == "relativistic":
        if real is None:
            raise ValueError("kind='relativistic' needs real, the discriminator's scores on the real examples "
                             "paired with fake")
        call, (fake, real) = gather({"fake": fake, "real": real}, weight=weight, reduction=reduction)
        _pairs(real, fake)
        return call.finish(softplus(call.xp, real - fake))
    if real is not None:
        raise ValueError(f"real is used only by kind='relativistic'; kind={kind!r} does not use it, so pass "
                         "real=None")
    call, (fake,) = gather({"fake": fake}, weight=weight, reduction=reduction)
    xp = call.xp
    if kind == "minimax":
        loss = -softplus(xp, fake)
    elif kind == "non_saturating":
        loss = softplus(xp, -fake)
    elif kind == "least_squares":
        miss = fake - 1.0
        loss = 0.5 * (miss * miss)
    else:
        loss = -fake
    return call.finish(loss)


def gan_minimax_value(real: Array, fake: Array) -> Array:
    r"""The value :math:`V(D, G)` of the original GAN game, which the discriminator maximises.

    .. math::
        V = \operatorname{mean}_i \log D(r_i) + \operatorname{mean}_j \log(1 - D(f_j))
          = -\operatorname{mean}\operatorname{softplus}(-r) - \operatorname{mean}\operatorname{softplus}(f)

    the negative of ``gan_discriminator_loss(real, fake, kind="minimax")``. At the game's
    equilibrium :math:`D = \tfrac12` everywhere and :math:`V = -\log 4`; for an optimal
    discriminator :math:`V = 2\,\mathrm{JSD}(p_\text{data} \| p_G) - \log 4`. A quantity to monitor,
    not a loss: it is not registered and has no ``weight`` or ``reduction``.

    Args:
      real: the discriminator's logits on real examples, any shape.
      fake: its logits on generated examples, any shape (any number of examples).

    Returns:
      The 0-d value (0 for two empty batches).

    Reference: Goodfellow et al., "Generative Adversarial Nets", NeurIPS 2014.

    Example:
      >>> import numpy as np, losskit
      >>> round(float(losskit.gan_minimax_value(np.zeros(4), np.zeros(3))), 6)  # -log 4
      -1.386294
    """
    call, (real, fake) = gather({"real": real, "fake": fake}, weight=None, reduction="mean")
    xp = call.xp
    return call.finish(_two_terms(call, log_sigmoid(xp, real), log_sigmoid(xp, -fake)))


def _autograd(xp: Namespace, function: str, names: str, like: Array) -> str:
    """The autograd library of the inputs: a penalty differentiates the critic with respect to its input."""
    if is_torch_namespace(xp):
        return "torch"
    if is_jax_namespace(xp):
        return "jax"
    library = f"{type(like).__module__.split('.')[0]}.{type(like).__qualname__}"
    raise TypeError(
        f"{function} needs automatic differentiation (torch or JAX): {names} must be torch tensors or JAX "
        f"arrays, got {library}"
    )


def _scores(out: Array, n: int) -> Array:
    shape = tuple(out.shape)
    if shape not in {(n,), (n, 1)}:
        raise ValueError(f"critic must return one score per example, of shape ({n},) or ({n}, 1); got {shape}")
    return out if shape == (n,) else out[:, 0]


def _input_gradient(critic: Callable[[Array], Array], x: Array, library: str) -> Array:
    """:math:`\\nabla_x \\sum_i c(x)_i`, which is each example's own input gradient when the critic scores
    examples independently (no batch normalisation: see the WGAN-GP paper)."""
    n = x.shape[0]
    if library == "torch":
        import torch

        # Under no_grad (evaluating the penalty) the input gradient is still needed, its graph is not.
        keep_graph = torch.is_grad_enabled()
        with torch.enable_grad():
            # A detached copy, not requires_grad_ on the caller's tensor: inputs are never modified.
            x = x if x.requires_grad else x.detach().requires_grad_(True)
            scores = _scores(critic(x), n)
            (grad,) = torch.autograd.grad(scores, x, grad_outputs=torch.ones_like(scores), create_graph=keep_graph,
                                          allow_unused=True)
        return torch.zeros_like(x) if grad is None else grad
    import jax
    import jax.numpy as jnp

    scores, pullback = jax.vjp(lambda v: _scores(critic(v), n), x)
    (grad,) = pullback(jnp.ones_like(scores))
    return grad


def _squared_norms(call: Call, grad: Array) -> Array:
    """:math:`\\|g_i\\|^2` over all axes but the first, in the compute dtype."""
    xp = call.xp
    grad = grad if grad.dtype == call.dtype else xp.astype(grad, call.dtype)
    n = grad.shape[0]
    flat = xp.reshape(grad, (n, _size(grad) // n if n else 0))
    return xp.sum(flat * flat, axis=1)


def gradient_penalty(critic: Callable[[Array], Array], real: Array, fake: Array, t: Array, *,
                     target: float = 1.0) -> Array:
    r"""The gradient penalty of WGAN-GP: the critic's input-gradient norm held at ``target``.

    .. math::
        \operatorname{mean}_i \big(\|\nabla_x c(\hat x_i)\|_2 - \text{target}\big)^2,
        \qquad \hat x_i = t_i\, r_i + (1 - t_i)\, f_i

    with the norm over all axes of an example. Add it, times :math:`\lambda` (10 in the paper), to
    the critic's loss ``gan_discriminator_loss(c(real), c(fake), kind="wasserstein")``.
    ``target=0`` is the zero-centred penalty on interpolates.

    The penalty is differentiable with respect to the critic's parameters (its gradient needs the
    second derivative of the critic): in torch the input gradient is taken with
    ``torch.autograd.grad(..., create_graph=True)``, in JAX with ``jax.vjp``, so it works under
    ``jax.grad`` of the parameters (closed over by ``critic``) and ``jax.jit``. It is also
    differentiable with respect to ``real`` and ``fake``: detach the generator's output in the
    critic's step, as usual. At a zero input gradient the norm's derivative is taken as 0, so no
    NaN appears.

    Args:
      critic: a function of a batch of examples of ``real``'s shape returning one score per example,
        of shape ``(N,)`` or ``(N, 1)``. It must score examples independently (no batch
        normalisation), so that the gradient of the summed scores is each example's gradient.
      real: real examples, shape ``(N, ...)``: torch tensors or JAX arrays (NumPy and other
        libraries without autograd are a ``TypeError``).
      fake: generated examples of ``real``'s shape.
      t: interpolation coefficients in [0, 1], shape ``(N,)``. Randomness is the caller's:
        ``torch.rand(N)`` or ``jax.random.uniform(key, (N,))`` as in the paper.
      target: the norm the gradient is pulled to, :math:`\ge 0`.

    Returns:
      The 0-d penalty (0 for an empty batch), in the inputs' dtype.

    Reference: Gulrajani et al., "Improved Training of Wasserstein GANs", NeurIPS 2017.

    Example:
      >>> import torch, losskit
      >>> w = torch.tensor([3.0, 4.0])  # a linear critic: its input gradient is w, of norm 5
      >>> real, fake = torch.ones(2, 2), torch.zeros(2, 2)
      >>> float(losskit.gradient_penalty(lambda x: x @ w, real, fake, torch.rand(2)))
      16.0
    """
    target = checks.real("target", target, low=0.0)
    call, (real, fake, t) = gather({"real": real, "fake": fake, "t": t}, weight=None, reduction="mean")
    library = _autograd(call.xp, "gradient_penalty", "real, fake and t", call.like)
    xp = call.xp
    if real.ndim == 0:
        raise ValueError("real must hold a batch of examples, shape (N, ...); got a 0-d array")
    if tuple(fake.shape) != tuple(real.shape):
        raise ValueError(f"fake must have the shape of real {tuple(real.shape)}, got {tuple(fake.shape)}")
    n = real.shape[0]
    if tuple(t.shape) != (n,):
        raise ValueError(f"t must have shape ({n},), one coefficient per example of real; got {tuple(t.shape)}")
    checks.within(xp, "t", t, 0.0, 1.0)
    t = xp.reshape(t, (n,) + (1,) * (real.ndim - 1))
    x = t * real + (1.0 - t) * fake
    if x.dtype != call.out_dtype:
        x = xp.astype(x, call.out_dtype)  # the critic gets the caller's (low) precision
    squares = _squared_norms(call, _input_gradient(critic, x, library))
    miss = safe_sqrt(xp, squares) - target  # the critic's input gradient may vanish: sqrt'(0) is infinite
    return call.finish(miss * miss)


def r1_penalty(critic: Callable[[Array], Array], real: Array) -> Array:
    r"""The R1 regulariser: the critic's squared input-gradient norm on real examples.

    .. math:: \operatorname{mean}_i \|\nabla_x c(r_i)\|_2^2

    Add it, times :math:`\gamma / 2`, to the discriminator's loss (``gan_discriminator_loss``,
    non-saturating in the paper and in StyleGAN); the factor is the caller's, since papers differ
    on :math:`\gamma` and on the :math:`\tfrac12`. Differentiable with respect to the critic's
    parameters in torch and JAX, as :func:`gradient_penalty`.

    Args:
      critic: as in :func:`gradient_penalty`.
      real: real examples, shape ``(N, ...)``: torch tensors or JAX arrays.

    Returns:
      The 0-d penalty (0 for an empty batch), in ``real``'s dtype.

    Reference: Mescheder et al., "Which Training Methods for GANs do actually Converge?", ICML 2018.

    Example:
      >>> import torch, losskit
      >>> w = torch.tensor([3.0, 4.0])
      >>> float(losskit.r1_penalty(lambda x: x @ w, torch.ones(2, 2)))
      25.0
    """
    call, (real,) = gather({"real": real}, weight=None, reduction="mean")
    library = _autograd(call.xp, "r1_penalty", "real", call.like)
    if real.ndim == 0:
        raise ValueError("real must hold a batch of examples, shape (N, ...); got a 0-d array")
    x = real if real.dtype == call.out_dtype else call.xp.astype(real, call.out_dtype)
    return call.finish(_squared_norms(call, _input_gradient(critic, x, library)))
