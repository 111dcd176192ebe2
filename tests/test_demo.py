"""`python -m losskit.demo` (also the appendix of `losskit tour`'s report): it must cover every loss, rank models
above baselines and print identities that hold."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

import losskit
from losskit import demo

TASKS = ("regression", "binary", "multi-class", "segmentation", "autoencoder", "embedding", "gan")


@pytest.fixture(scope="module")
def report() -> demo.Report:
    # Fitting every model takes seconds: once for the whole module.
    return demo.run()


def test_demo_prints_every_loss_and_each_model_beats_its_baseline(
    report: demo.Report, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(demo, "run", lambda: report)
    demo.main()
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if re.match(rf"({'|'.join(TASKS)}) ", line)]
    assert len(rows) == len(report.rows)
    assert {line.split()[1] for line in rows} == set(losskit.names())
    for row in rows:
        ratio = float(re.findall(r"\s(\d\.\d{3})\s", row)[-1])
        assert 0 < ratio < 1, row
    assert "DIFFERS" not in out


def test_every_model_beats_its_baseline(report: demo.Report) -> None:
    # "lower ratio is better" holds for every row: each cost is one its model minimises, and positive.
    for row in report.rows:
        assert 0 < row.model_cost < row.baseline_cost, row


def test_costs_agree_with_their_sklearn_reference(report: demo.Report) -> None:
    checked = [row for row in report.rows if row.reference is not None]
    assert {row.loss for row in checked} >= {"mse", "mae", "quantile", "binary_cross_entropy", "reconstruction"}
    for row in checked:
        assert row.reference is not None and math.isclose(row.model_cost, row.reference, rel_tol=1e-9), row


def test_every_identity_holds(report: demo.Report) -> None:
    assert len(report.identities) >= 12
    for identity in report.identities:
        assert math.isclose(identity.left_value, identity.right_value, rel_tol=1e-8, abs_tol=1e-12), identity


def test_named_identities(report: demo.Report) -> None:
    by_left = {i.left: i for i in report.identities}
    elbo = by_left["ELBO, PPCA(16) exact posterior: E log p(x|z) - gaussian_kl"]
    assert elbo.right == "log-likelihood, sklearn PCA.score"
    assert math.isclose(elbo.left_value, elbo.right_value, rel_tol=1e-8)
    equilibrium = by_left["gan_minimax_value(D = 1/2 everywhere)"]
    assert math.isclose(equilibrium.left_value, -math.log(4), rel_tol=1e-12)


def test_gan_rows_sit_where_the_theory_puts_them(report: demo.Report) -> None:
    rows = {row.loss: row for row in report.rows if row.task == "gan"}
    # D = 1/2 costs the discriminator log 2 on each batch.
    assert math.isclose(rows["gan_discriminator_loss"].baseline_cost, 2 * math.log(2), rel_tol=1e-12)
    # A Gaussian with the digits' covariance fools a quadratic discriminator: the equilibrium's log 2.
    assert abs(rows["gan_generator_loss"].model_cost - math.log(2)) < 0.05


def test_uncovered_loss_fails_the_demo(report: demo.Report) -> None:
    with pytest.raises(RuntimeError, match="does not cover: dice"):
        demo.check_coverage([row for row in report.rows if row.loss != "dice"])


def test_elbo_is_the_log_likelihood_minus_the_kl_to_the_exact_posterior() -> None:
    from sklearn.decomposition import PCA

    rng = np.random.default_rng(1)
    x = rng.normal(size=(300, 12)) @ rng.normal(size=(12, 12)) + rng.normal(size=12)
    pca = PCA(4).fit(x[:200])
    test = x[200:]
    exact = demo._exact_posterior(pca, test)
    assert math.isclose(float(np.mean(demo._elbo(pca, test, exact))), pca.score(test), rel_tol=1e-10)
    # Any other Gaussian q falls short of log p(x) by exactly KL(q || p(z|x)).
    q = demo.Posterior(exact.mean + rng.normal(size=exact.mean.shape), rng.normal(size=exact.mean.shape))
    gap = np.asarray(losskit.gaussian_kl(*demo._kl_between(q, exact), reduction="none"))
    assert gap.min() > 0
    assert math.isclose(float(np.mean(demo._elbo(pca, test, q) + gap)), pca.score(test), rel_tol=1e-10)


def test_kl_between_is_the_closed_form_kl_of_two_diagonal_gaussians() -> None:
    rng = np.random.default_rng(2)
    q = demo.Posterior(rng.normal(size=(5, 3)), rng.normal(size=(5, 3)))
    p = demo.Posterior(rng.normal(size=(5, 3)), rng.normal(size=(5, 3)))
    var_q, var_p = np.exp(q.log_var), np.exp(p.log_var)
    closed = 0.5 * np.sum(np.log(var_p / var_q) + (var_q + (q.mean - p.mean) ** 2) / var_p - 1, axis=1)
    np.testing.assert_allclose(losskit.gaussian_kl(*demo._kl_between(q, p), reduction="none"), closed, rtol=1e-12)
