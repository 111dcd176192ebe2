"""GANs on a ring of eight Gaussians: the generator and discriminator losses of five kinds of game.

The seed articles describe the minimax game of a discriminator and a generator that ends where the
discriminator cannot tell real from fake; the well-known catch is that the generator's minimax loss
saturates early, when the discriminator rejects its samples with confidence, while the
non-saturating loss keeps a strong gradient. Each kind trains the same pair of MLPs; the report
counts the modes the generator covers, the share of its samples that land on a mode, its gradient
norm early in training, and whether the discriminator can still tell the two apart at the end.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from matplotlib.figure import Figure
from sklearn.metrics import roc_auc_score
from torch import nn

import losskit

from .. import data, metrics, plots
from ..models import mlp
from ..progress import Bars, Tick
from ..results import Claim, Metric, Outcome, TaskResult, difference, stat
from ..task import Options, Task, Variant, numpy

PRIMARY = Metric("modes_covered", "modes covered (of 8)", True, ".1f")
EARLY_STEPS = 100
"""Early in training: the first 100 steps, whatever the length of the run (a tenth of the tour's)."""
EARLY = Metric("early_grad_norm", f"generator gradient norm, first {EARLY_STEPS} steps", True, ".3g")
AUC = Metric("discriminator_auc", "discriminator ROC-AUC, real vs fake (0.5: fooled)", False, ".3f")
METRICS = (PRIMARY, Metric("high_quality", "samples on a mode", True), EARLY, AUC)
KINDS = ("minimax", "non_saturating", "least_squares", "hinge", "wasserstein")
NOISE, HIDDEN = 2, 64
STEPS, QUICK_STEPS, CHUNK = 1000, 200, 100
BATCH, LR, BETAS = 128, 1e-3, (0.5, 0.9)
PENALTY = 0.1
"""WGAN-GP's weight of the gradient penalty on a 2-D toy problem (Gulrajani et al. used 0.1 for theirs)."""
SATURATED = 0.5
"""The minimax generator's early gradient counts as vanished at half the non-saturating one's or less."""
RADIUS, MIN_SHARE, SAMPLES = 0.2, 0.01, 2000
"""A sample is on a mode within 4 standard deviations (0.2) of its centre; a mode is covered by 1 % of them."""


def variants(options: Options) -> Mapping[str, tuple[Variant, ...]]:
    both = tuple(Variant(k, "gan_discriminator_loss", {"kind": k}) for k in KINDS)
    # Either name selects the game: a kind sets both players' losses.
    return {"gan_discriminator_loss": both, "gan_generator_loss": both}


@dataclass
class Game:
    generator: nn.Module
    discriminator: nn.Module
    grad_norms: list[float]
    modes: list[float]


def _score(d: nn.Module, x: torch.Tensor) -> torch.Tensor:
    scores: torch.Tensor = d(x)
    return scores.squeeze(-1)


def play(kind: str, seed: int, options: Options, steps: int, real_pool: torch.Tensor, centres: np.ndarray,
         tick: Tick) -> Game:
    """Alternate one discriminator and one generator step ``steps`` times; the curves every CHUNK steps."""
    g, d = mlp([NOISE, HIDDEN, HIDDEN, 2], seed).to(options.device), mlp([2, HIDDEN, HIDDEN, 1], seed + 1).to(
        options.device)
    opt_g = torch.optim.Adam(g.parameters(), lr=LR, betas=BETAS)
    opt_d = torch.optim.Adam(d.parameters(), lr=LR, betas=BETAS)
    generator = torch.Generator().manual_seed(seed)
    fixed = torch.randn(SAMPLES, NOISE, generator=generator).to(options.device)
    game = Game(g, d, [], [])
    for step in range(steps):
        real = real_pool[torch.randint(len(real_pool), (BATCH,), generator=generator).to(options.device)]
        fake = g(torch.randn(BATCH, NOISE, generator=generator).to(options.device)).detach()
        d_cost = losskit.gan_discriminator_loss(_score(d, real), _score(d, fake), kind=kind)
        if kind == "wasserstein":  # the critic must stay 1-Lipschitz: WGAN-GP's penalty
            t = torch.rand(BATCH, generator=generator).to(options.device)
            d_cost = d_cost + PENALTY * losskit.gradient_penalty(lambda x: _score(d, x), real, fake, t)
        opt_d.zero_grad()
        d_cost.backward()
        opt_d.step()
        g_cost = losskit.gan_generator_loss(_score(d, g(torch.randn(BATCH, NOISE, generator=generator)
                                                         .to(options.device))), kind=kind)
        opt_g.zero_grad()
        g_cost.backward()
        grads = [p.grad.flatten() for p in g.parameters() if p.grad is not None]
        game.grad_norms.append(float(torch.linalg.vector_norm(torch.cat(grads))))
        opt_g.step()
        if (step + 1) % CHUNK == 0:
            with torch.no_grad():
                game.modes.append(metrics.mode_coverage(numpy(g(fixed)), centres, RADIUS, MIN_SHARE)["modes_covered"])
            tick()
    return game


def run(options: Options, variants: Sequence[Variant], bars: Bars) -> TaskResult:
    steps = options.epochs * CHUNK if options.epochs is not None else QUICK_STEPS if options.quick else STEPS
    rng = np.random.default_rng(options.seed)
    centres = data.ring()
    real_pool = torch.as_tensor(data.eight_gaussians(20_000, rng), dtype=torch.float32, device=options.device)
    real_test = data.eight_gaussians(SAMPLES, rng)
    kinds = list(dict.fromkeys(str(v.params["kind"]) for v in variants))
    shown: dict[str, np.ndarray] = {}
    outcomes = []
    with bars.task("gan", len(kinds) * len(options.seeds) * (steps // CHUNK)) as tick:
        for kind in kinds:
            scores: list[dict[str, float]] = []
            curves: dict[str, list[list[float]]] = {PRIMARY.key: [], "generator_grad_norm": []}
            for seed in options.seeds:
                game = play(kind, seed, options, steps, real_pool, centres, tick)
                scores.append(_evaluate(game, real_test, centres, seed, options))
                curves[PRIMARY.key].append(game.modes)
                curves["generator_grad_norm"].append(game.grad_norms)
                if seed == options.seed:
                    with torch.no_grad():
                        shown[kind] = numpy(game.generator(torch.randn(SAMPLES, NOISE, generator=torch.Generator()
                                                                       .manual_seed(seed)).to(options.device)))
            outcomes.append(Outcome(kind, "gan_discriminator_loss", {"kind": kind},
                                    {k: stat([s[k] for s in scores]) for k in scores[0]}, curves))
    result = TaskResult(
        "gan", "GANs: which game covers the eight modes?",
        f"2-D mixture of 8 Gaussians on a circle of radius 2 (sd {0.05}); batches of {BATCH} real points",
        f"generator and discriminator MLPs {HIDDEN}-{HIDDEN} (ReLU), {NOISE}-D noise; Adam (lr {LR}, betas {BETAS}), "
        f"one discriminator step per generator step; Wasserstein with gradient penalty {PENALTY}",
        PRIMARY, METRICS, outcomes, options.seeds, steps // CHUNK)
    result.notes.append(f"One epoch here is {CHUNK} steps of each player. Gradient norms are of each kind's own "
                        "generator loss, so only minimax and non_saturating (two readings of the same logit) compare "
                        "directly. Every kind gets the same budget of one discriminator step per generator step; "
                        "Wasserstein GANs are usually given five critic steps (WGAN-GP), so its result here "
                        "speaks of this budget, not of its best.")
    result.claims = claims(outcomes)
    result.figures = {"samples": _samples(shown, real_test, centres), "gradients": _gradients(outcomes)}
    return result


def _evaluate(game: Game, real: np.ndarray, centres: np.ndarray, seed: int, options: Options) -> dict[str, float]:
    with torch.no_grad():
        z = torch.randn(SAMPLES, NOISE, generator=torch.Generator().manual_seed(seed + 7)).to(options.device)
        fake = game.generator(z)
        scores = np.concatenate([numpy(_score(game.discriminator, torch.as_tensor(
            real, dtype=torch.float32, device=options.device))), numpy(_score(game.discriminator, fake))])
    found = metrics.mode_coverage(numpy(fake), centres, RADIUS, MIN_SHARE)
    found[EARLY.key] = float(np.mean(game.grad_norms[:EARLY_STEPS]))
    found[AUC.key] = float(roc_auc_score(np.r_[np.ones(len(real)), np.zeros(SAMPLES)], scores))
    return found


def claims(outcomes: Sequence[Outcome]) -> list[Claim]:
    by_kind = {o.label: o for o in outcomes}
    found = []
    if {"minimax", "non_saturating"} <= set(by_kind):
        minimax, non_saturating = by_kind["minimax"], by_kind["non_saturating"]
        d = difference(non_saturating, minimax, EARLY)
        ratio = minimax.metrics[EARLY.key].mean / non_saturating.metrics[EARLY.key].mean
        # "Saturates" asks for more than a smaller gradient: at most half the non-saturating one counts as vanishing.
        found.append(Claim(
            "The generator's minimax loss saturates early in training (its gradient vanishes), the non-saturating "
            "loss does not", "seed 003 (minimax GAN loss); issue 5", d.better and d.clear and ratio <= SATURATED,
            f"{d.describe(EARLY)}; minimax's early gradient is {ratio:.0%} of the non-saturating one's (saturated: "
            f"at most {SATURATED:.0%})."))
    if "non_saturating" in by_kind:
        auc = by_kind["non_saturating"].metrics[AUC.key]
        found.append(Claim("Training reaches the game's equilibrium, where the discriminator cannot tell real "
                           "from fake", "seed 003", abs(auc.mean - 0.5) < 0.1,
                           f"non_saturating: the final discriminator separates real from generated points with "
                           f"ROC-AUC {auc.show('.3f')} (0.5 = cannot tell; counted as reached within 0.1 of it)."))
    return found


def _samples(shown: Mapping[str, np.ndarray], real: np.ndarray, centres: np.ndarray) -> Figure:
    fig, axes = plots.figure(1, len(shown) + 1, height=2.3)
    for ax, (title, points) in zip(axes, [("real", real), *shown.items()], strict=True):
        ax.scatter(points[:, 0], points[:, 1], s=1, alpha=0.3)
        ax.scatter(centres[:, 0], centres[:, 1], s=12, c="#d62728", marker="x")
        ax.set_xlim(-3, 3)
        ax.set_ylim(-3, 3)
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(title, fontsize="small")
    return fig


def _gradients(outcomes: Sequence[Outcome]) -> Figure:
    fig, (left, right) = plots.figure(1, 2, height=3.4)
    for o in outcomes:
        plots.band(left, o.curves["generator_grad_norm"], o.label)
        chunks = len(o.curves[PRIMARY.key][0])
        plots.band(right, o.curves[PRIMARY.key], o.label, x=[CHUNK * (i + 1) for i in range(chunks)])
    left.set_yscale("log")
    left.set_title("generator gradient norm per step")
    right.set_title(PRIMARY.name)
    for ax in (left, right):
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
    right.legend(fontsize="small")
    return fig


TASK = Task("gan", "8 Gaussians: minimax, non_saturating, least_squares, hinge, wasserstein", variants, run)
