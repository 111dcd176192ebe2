"""Every losskit loss on real data: ``python -m losskit.demo``, and the appendix of ``losskit tour``'s report.

For three scikit-learn data sets shipped with the library (nothing is downloaded) it fits a model
on a train split and scores it, and a baseline that ignores what the model learns from, on the test
split with every public loss. A good loss must rank the fitted model far below the baseline: the
ratio column is the share of the baseline's cost the model still pays. The digits also serve the
losses of other tasks: their ink as segmentation masks, the images for autoencoders and a GAN, their
labels for embeddings. Two short sections then show the loss-vs-cost distinction
(``reduction="none"`` against ``"mean"``) and identities between losses, and with scikit-learn.

scikit-learn (the ``lab`` extra) is needed here only; losskit itself does not depend on it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

import losskit

Floats = NDArray[np.float64]
Ints = NDArray[np.int64]
Loss = Callable[..., Any]

SEED = 0
TEST_SIZE = 0.25
QUANTILE = 0.9
INSTALL_HINT = 'losskit.demo needs scikit-learn: pip install "losskit[lab]"'


@dataclass(frozen=True)
class Row:
    """One line of the results table: a loss scored on a model and on its baseline."""

    task: str
    loss: str
    """The canonical losskit name (checked against ``losskit.names()``)."""
    setting: str
    model: str
    model_cost: float
    baseline: str
    baseline_cost: float
    reference: float | None = None
    """The same cost from ``sklearn.metrics``, where it has one."""
    reference_name: str = ""


@dataclass(frozen=True)
class Split:
    x_train: Floats
    x_test: Floats
    y_train: Any
    y_test: Any


def _split(x: Any, y: Any, *, stratify: bool) -> Split:
    from sklearn.model_selection import train_test_split

    x_train, x_test, y_train, y_test = train_test_split(
        np.asarray(x, dtype=np.float64), y, test_size=TEST_SIZE, random_state=SEED, stratify=y if stratify else None
    )
    return Split(x_train, x_test, y_train, y_test)


def _cost(loss: Loss, *arrays: Any, **options: Any) -> float:
    """The 0-d cost as a float; ``arrays`` are ``pred, target``, or the loss's own (anchor, positive, negative...)."""
    return float(loss(*arrays, **options))


def _best_constant(loss: Loss, target: Any, low: float, high: float, **options: Any) -> float:
    """The constant prediction with the lowest *train* cost: the strongest model that ignores x.

    Found by minimising the loss itself, so each loss gets its own fair baseline (the mean for MSE,
    the median for MAE, the q-quantile for the pinball loss) instead of one strawman for all.
    Every loss here is convex in a constant prediction, so a bounded 1-D search finds the optimum.
    """
    from scipy.optimize import minimize_scalar

    def train_cost(c: float) -> float:
        return _cost(loss, np.full(np.shape(target), c), target, **options)

    result = minimize_scalar(train_cost, bounds=(low, high), method="bounded", options={"xatol": 1e-9})
    return float(result.x)


# --------------------------------------------------------------------------------------------------
# Regression: diabetes progression one year after baseline, 442 patients, 10 features.


@dataclass(frozen=True)
class Regression:
    split: Split
    """Targets standardised with the train mean and standard deviation."""
    pred: Floats
    """Ridge predictions on the test split."""
    y_scale: float
    """The raw target's train standard deviation, to report residuals in the data's own units."""


def _diabetes() -> Regression:
    from sklearn.datasets import load_diabetes
    from sklearn.linear_model import Ridge

    x, y = load_diabetes(return_X_y=True)
    raw = _split(x, np.asarray(y, dtype=np.float64), stratify=False)
    # Huber's delta and log-cosh's bend sit at |residual| = 1: in the raw units (std 77) both would
    # degenerate to MAE, so targets are measured in train standard deviations.
    mean, scale = float(np.mean(raw.y_train)), float(np.std(raw.y_train))
    split = Split(raw.x_train, raw.x_test, (raw.y_train - mean) / scale, (raw.y_test - mean) / scale)
    ridge = Ridge().fit(split.x_train, split.y_train)
    return Regression(split, np.asarray(ridge.predict(split.x_test), dtype=np.float64), scale)


def regression_rows(data: Regression) -> list[Row]:
    from sklearn import metrics
    from sklearn.linear_model import QuantileRegressor

    s = data.split
    low, high = float(np.min(s.y_train)), float(np.max(s.y_train))
    rows = []
    for loss, setting, reference, name in [
        (losskit.mse, "", metrics.mean_squared_error, "mean_squared_error"),
        (losskit.mae, "", metrics.mean_absolute_error, "mean_absolute_error"),
        (losskit.huber, "delta=1", None, ""),
        (losskit.log_cosh, "", None, ""),
    ]:
        options = {"delta": 1.0} if setting else {}
        constant = _best_constant(loss, s.y_train, low, high, **options)
        rows.append(Row(
            "regression", loss.__name__, setting, "Ridge", _cost(loss, data.pred, s.y_test, **options),
            f"constant {constant:+.3f}", _cost(loss, np.full(s.y_test.shape, constant), s.y_test, **options),
            None if reference is None else float(reference(s.y_test, data.pred)), name,
        ))

    # The pinball loss asks for a quantile, not a mean: score a model fitted for that quantile.
    fitted = QuantileRegressor(quantile=QUANTILE, alpha=0.0, solver="highs").fit(s.x_train, s.y_train)
    pred = np.asarray(fitted.predict(s.x_test), dtype=np.float64)
    constant = _best_constant(losskit.quantile, s.y_train, low, high, q=QUANTILE)
    rows.append(Row(
        "regression", "quantile", f"q={QUANTILE}", f"QuantileRegressor(q={QUANTILE})",
        _cost(losskit.quantile, pred, s.y_test, q=QUANTILE),
        f"constant {constant:+.3f}", _cost(losskit.quantile, np.full(s.y_test.shape, constant), s.y_test, q=QUANTILE),
        float(metrics.mean_pinball_loss(s.y_test, pred, alpha=QUANTILE)), "mean_pinball_loss",
    ))
    return rows


# --------------------------------------------------------------------------------------------------
# Binary classification: breast cancer, 569 tumours, 30 features, label 1 = benign.


@dataclass(frozen=True)
class Binary:
    split: Split
    proba: Floats
    """Logistic regression's P(y = 1) on the test split."""
    logits: Floats
    """The same model's logits (``decision_function``): ``sigmoid(logits) == proba``."""
    svm_scores: Floats
    """A linear SVM's decision scores: margins, not probabilities."""


def _breast_cancer() -> Binary:
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import LinearSVC

    x, y = load_breast_cancer(return_X_y=True)
    s = _split(x, np.asarray(y, dtype=np.int64), stratify=True)
    # Features span five orders of magnitude; unscaled, both solvers converge slowly or not at all.
    logistic = make_pipeline(StandardScaler(), LogisticRegression()).fit(s.x_train, s.y_train)
    svm = make_pipeline(StandardScaler(), LinearSVC(random_state=SEED)).fit(s.x_train, s.y_train)
    return Binary(
        s,
        np.asarray(logistic.predict_proba(s.x_test)[:, 1], dtype=np.float64),
        np.asarray(logistic.decision_function(s.x_test), dtype=np.float64),
        np.asarray(svm.decision_function(s.x_test), dtype=np.float64),
    )


def binary_rows(data: Binary) -> list[Row]:
    from sklearn import metrics

    s = data.split
    prior = float(np.mean(s.y_train))
    rows = [Row(
        "binary", "binary_cross_entropy", "probabilities", "LogisticRegression",
        _cost(losskit.binary_cross_entropy, data.proba, s.y_test),
        f"class prior {prior:.3f}", _cost(losskit.binary_cross_entropy, np.full(s.y_test.shape, prior), s.y_test),
        float(metrics.log_loss(s.y_test, data.proba)), "log_loss",
    )]
    # Focal loss scores the same probabilities; its baseline is the constant probability it prefers.
    focal_constant = _best_constant(losskit.focal, s.y_train, 1e-6, 1 - 1e-6)
    rows.append(Row(
        "binary", "focal", "probabilities, gamma=2, alpha=0.25", "LogisticRegression",
        _cost(losskit.focal, data.proba, s.y_test),
        f"constant {focal_constant:.3f}", _cost(losskit.focal, np.full(s.y_test.shape, focal_constant), s.y_test),
    ))
    for loss, reference, name in [
        (losskit.hinge, metrics.hinge_loss, "hinge_loss"),
        (losskit.squared_hinge, None, ""),
    ]:
        # Margin losses score raw decision values; labels in {0, 1} are mapped to {-1, +1}.
        constant = _best_constant(loss, s.y_train, -2.0, 2.0)
        rows.append(Row(
            "binary", loss.__name__, "scores, margin=1", "LinearSVC", _cost(loss, data.svm_scores, s.y_test),
            f"constant {constant:+.3f}", _cost(loss, np.full(s.y_test.shape, constant), s.y_test),
            None if reference is None else float(reference(s.y_test, data.svm_scores)), name,
        ))
    return rows


# --------------------------------------------------------------------------------------------------
# Multi-class classification: 8x8 images of handwritten digits, 1797 images, 10 classes.


@dataclass(frozen=True)
class MultiClass:
    split: Split
    proba: Floats
    """Softmax probabilities of a multinomial logistic regression, (N, 10)."""
    train_proba: Floats
    """The same model's probabilities on the train split: a teacher's soft labels for distillation."""
    logits: Floats
    """The same model's logits: ``softmax(logits) == proba``."""
    svm_scores: Floats
    """Class scores of a Crammer-Singer multi-class SVM, the formulation of ``multiclass_hinge``."""
    prior: Floats
    """Class frequencies of the train split."""
    features: Floats
    """The standardised test images the logistic regression reads: ``logits = features @ coef.T + intercept``."""
    coef: Floats
    """The logistic regression's ``(10, 64)`` weights, a linear classifier head."""
    intercept: Floats


def _digits() -> MultiClass:
    from sklearn.datasets import load_digits
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import LinearSVC

    x, y = load_digits(return_X_y=True)
    s = _split(x, np.asarray(y, dtype=np.int64), stratify=True)
    logistic = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(s.x_train, s.y_train)
    # C=1 leaves liblinear's Crammer-Singer solver unconverged after 1000 iterations; 0.1 converges.
    svm = make_pipeline(StandardScaler(), LinearSVC(multi_class="crammer_singer", C=0.1, random_state=SEED))
    svm.fit(s.x_train, s.y_train)
    return MultiClass(
        s,
        np.asarray(logistic.predict_proba(s.x_test), dtype=np.float64),
        np.asarray(logistic.predict_proba(s.x_train), dtype=np.float64),
        np.asarray(logistic.decision_function(s.x_test), dtype=np.float64),
        np.asarray(svm.decision_function(s.x_test), dtype=np.float64),
        np.bincount(s.y_train, minlength=10) / len(s.y_train),
        np.asarray(logistic[0].transform(s.x_test), dtype=np.float64),
        np.asarray(logistic[-1].coef_, dtype=np.float64),
        np.asarray(logistic[-1].intercept_, dtype=np.float64),
    )


def _one_hot(labels: Ints, num_classes: int) -> Floats:
    return np.eye(num_classes, dtype=np.float64)[labels]


def multiclass_rows(data: MultiClass) -> list[Row]:
    from sklearn import metrics

    s = data.split
    n, classes = len(s.y_test), data.prior.shape[0]
    prior = np.broadcast_to(data.prior, (n, classes))
    # The prior as logits: softmax(log prior) is the prior, the best constant for cross-entropy.
    log_prior = np.broadcast_to(np.log(data.prior), (n, classes))
    labels = list(range(classes))
    cce, sce, mch = (
        losskit.categorical_cross_entropy, losskit.sparse_categorical_cross_entropy, losskit.multiclass_hinge
    )
    cfl, sfl = losskit.categorical_focal, losskit.sparse_categorical_focal
    return [
        Row("multi-class", "categorical_cross_entropy", "probabilities, one-hot", "LogisticRegression",
            _cost(cce, data.proba, _one_hot(s.y_test, classes)),
            "class prior", _cost(cce, prior, _one_hot(s.y_test, classes)),
            float(metrics.log_loss(s.y_test, data.proba, labels=labels)), "log_loss"),
        Row("multi-class", "sparse_categorical_cross_entropy", "logits, labels", "LogisticRegression",
            _cost(sce, data.logits, s.y_test, from_logits=True),
            "class prior", _cost(sce, log_prior, s.y_test, from_logits=True),
            float(metrics.log_loss(s.y_test, data.proba, labels=labels)), "log_loss"),
        Row("multi-class", "multiclass_hinge", "scores, crammer_singer", "LinearSVC(crammer_singer)",
            _cost(mch, data.svm_scores, s.y_test),
            "log class prior", _cost(mch, log_prior, s.y_test),
            float(metrics.hinge_loss(s.y_test, data.svm_scores, labels=labels)), "hinge_loss"),
        # The classes are balanced (9.7% to 10.2% each), so the prior is also, nearly, the focal losses'
        # best constant: by symmetry (the loss is convex in p) it is exactly that for equal frequencies.
        Row("multi-class", "categorical_focal", "probabilities, one-hot, gamma=2", "LogisticRegression",
            _cost(cfl, data.proba, _one_hot(s.y_test, classes)),
            "class prior", _cost(cfl, prior, _one_hot(s.y_test, classes))),
        Row("multi-class", "sparse_categorical_focal", "logits, labels, gamma=2", "LogisticRegression",
            _cost(sfl, data.logits, s.y_test, from_logits=True),
            "class prior", _cost(sfl, log_prior, s.y_test, from_logits=True)),
        # The model's head applied to the features, without forming its logits; the baseline's head reads
        # no feature (all-zero weights) and outputs the log prior.
        Row("multi-class", "linear_cross_entropy", "features, coef_, intercept_", "LogisticRegression",
            _cost(losskit.linear_cross_entropy, data.features, data.coef, s.y_test, bias=data.intercept),
            "class prior", _cost(losskit.linear_cross_entropy, data.features, np.zeros_like(data.coef), s.y_test,
                                 bias=np.log(data.prior)),
            float(metrics.log_loss(s.y_test, data.proba, labels=labels)), "log_loss"),
    ]


# --------------------------------------------------------------------------------------------------
# Segmentation: the ink of each digit as an 8x8 mask, found in a noisy copy of the image.

INK = 8.0
"""A pixel is ink (foreground) above half of the digits' 0-16 intensity range."""
NOISE = 4.0
"""Standard deviation of the Gaussian noise on the images the model sees: a quarter of the range."""


@dataclass(frozen=True)
class Segmentation:
    masks_train: Floats
    """Ink masks of the train images, ``(N, 1, 8, 8)``: one binary channel, channels first."""
    masks_test: Floats
    proba: Floats
    """The model's probability of ink at each pixel of the noisy test images, ``(N, 1, 8, 8)``."""


def _neighbourhoods(images: Floats) -> Floats:
    """Each pixel's 3x3 neighbourhood (zero beyond the border) as 9 features, ``(N * 64, 9)``."""
    n = len(images)
    padded = np.pad(images.reshape(n, 8, 8), ((0, 0), (1, 1), (1, 1)))
    return np.stack([padded[:, i:i + 8, j:j + 8] for i in range(3) for j in range(3)], axis=-1).reshape(n * 64, 9)


def _segmentation(digits: Split) -> Segmentation:
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(SEED)
    images = (digits.x_train, digits.x_test)
    noisy_train, noisy_test = (x + rng.normal(0.0, NOISE, x.shape) for x in images)
    masks_train, masks_test = (np.where(x > INK, 1.0, 0.0).reshape(-1, 1, 8, 8) for x in images)
    # One logistic regression shared by every pixel, on its 3x3 neighbourhood: a 3x3 convolution and a
    # sigmoid, the smallest segmentation network. The noise makes a pixel's own value an unsure guide.
    model = LogisticRegression().fit(_neighbourhoods(noisy_train / 16), masks_train.ravel())
    proba = model.predict_proba(_neighbourhoods(noisy_test / 16))[:, 1].reshape(masks_test.shape)
    return Segmentation(masks_train, masks_test, np.asarray(proba, dtype=np.float64))


def segmentation_rows(data: Segmentation) -> list[Row]:
    rows = []
    for loss, setting, options in [
        (losskit.dice, "probabilities (N, 1, 8, 8)", {}),
        (losskit.jaccard, "probabilities (N, 1, 8, 8)", {}),
        (losskit.tversky, "alpha=0.3, beta=0.7", {"alpha": 0.3, "beta": 0.7}),
        (losskit.focal_tversky, "alpha=0.3, beta=0.7, gamma=0.75", {}),
        (losskit.dice_bce, "dice + mean pixel BCE", {}),
    ]:
        # A constant p has Dice score 2pT / (64p + T) on an image with T ink pixels, which grows with p (so do
        # the other overlap scores): their best constant marks every pixel as ink (p = 1), not the share of
        # ink (0.29). dice_bce's cross-entropy pulls its best constant back towards that share.
        constant = _best_constant(loss, data.masks_train, 1e-6, 1 - 1e-6, **options)
        baseline = np.full(data.masks_test.shape, constant)
        rows.append(Row(
            "segmentation", loss.__name__, setting, "3x3 conv + sigmoid",
            _cost(loss, data.proba, data.masks_test, **options),
            f"constant {constant:.3f}", _cost(loss, baseline, data.masks_test, **options),
        ))
    return rows


# --------------------------------------------------------------------------------------------------
# Autoencoders: the digit images, scaled to [0, 1], through a linear autoencoder (PCA); and the divergences
# between distributions, on a student distilled from the multi-class logistic regression.

LATENTS = 16
"""Latent dimensions of the (probabilistic) PCA autoencoder."""
STUDENT_COMPONENTS = 8
"""The distilled student sees the images only through this many principal components."""
CLIP = 1e-3
"""PCA reconstructions leave [0, 1]; a Bernoulli decoder's output is clipped to [CLIP, 1 - CLIP]."""


@dataclass(frozen=True)
class Posterior:
    """A diagonal Gaussian per test image, ``q(z | x) = N(mean, exp(log_var))``, each ``(N, LATENTS)``."""

    mean: Floats
    log_var: Floats


@dataclass(frozen=True)
class Autoencoder:
    x_test: Floats
    """Test images scaled to [0, 1], ``(N, 64)``."""
    reconstruction: Floats
    """PCA's reconstructions of the test images from ``LATENTS`` components."""
    mean_image: Floats
    """The train mean image, broadcast to ``x_test``'s shape: what a decoder that ignores its input outputs."""
    pca: Any
    """The fitted ``sklearn.decomposition.PCA``, also a probabilistic PCA (its ``score`` is a log-likelihood)."""
    teacher: Floats
    """The multi-class logistic regression's probabilities on the test digits."""
    student: Floats
    """A smaller logistic regression's probabilities, distilled from the teacher's."""
    teacher_mean: Floats
    """The teacher's mean output on the train split, ``(10,)``: the best constant for KL(teacher || q)."""


def _distill(data: MultiClass) -> Floats:
    """Fit a student to the teacher's soft labels; return its test probabilities."""
    from sklearn.decomposition import PCA
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    s, classes = data.split, data.train_proba.shape[1]
    features = make_pipeline(StandardScaler(), PCA(STUDENT_COMPONENTS, random_state=SEED)).fit(s.x_train)
    # The cross-entropy to soft labels is KL(teacher || student) plus the teacher's entropy, a constant:
    # logistic regression minimises it when each image comes once per class, weighted by the teacher.
    student = LogisticRegression(max_iter=1000).fit(
        np.repeat(features.transform(s.x_train), classes, axis=0),
        np.tile(np.arange(classes), len(s.x_train)),
        sample_weight=data.train_proba.ravel(),
    )
    return np.asarray(student.predict_proba(features.transform(s.x_test)), dtype=np.float64)


def _autoencoder(data: MultiClass) -> Autoencoder:
    from sklearn.decomposition import PCA

    x_train, x_test = data.split.x_train / 16, data.split.x_test / 16
    pca = PCA(LATENTS, random_state=SEED).fit(x_train)
    reconstruction = np.asarray(pca.inverse_transform(pca.transform(x_test)), dtype=np.float64)
    return Autoencoder(
        x_test, reconstruction, np.broadcast_to(np.mean(x_train, axis=0), x_test.shape), pca,
        data.proba, _distill(data), np.mean(data.train_proba, axis=0),
    )


# Probabilistic PCA (Tipping & Bishop) is a linear VAE whose every quantity has a closed form:
# x = W z + mu + e, z ~ N(0, I), e ~ N(0, sigma^2 I). scikit-learn's PCA is its maximum-likelihood fit,
# W = U (Lambda - sigma^2)^(1/2), with U the principal axes, Lambda their variances and sigma^2 the mean
# variance of the axes left out.


def _decoder(pca: Any) -> Floats:
    """PPCA's ``W``, ``(64, LATENTS)``."""
    return np.asarray(pca.components_.T * np.sqrt(pca.explained_variance_ - pca.noise_variance_), dtype=np.float64)


def _exact_posterior(pca: Any, x: Floats) -> Posterior:
    """``p(z | x) = N(M^-1 W^T (x - mu), sigma^2 M^-1)`` with ``M = W^T W + sigma^2 I = Lambda``, diagonal."""
    variances = np.asarray(pca.explained_variance_, dtype=np.float64)
    mean = (x - pca.mean_) @ _decoder(pca) / variances
    return Posterior(mean, np.broadcast_to(np.log(pca.noise_variance_ / variances), mean.shape))


def _least_squares_code(pca: Any, x: Floats) -> Posterior:
    """The code that reconstructs ``x`` best, ``W^+ (x - mu)``, with the exact posterior's variance.

    PCA's own projection, in PPCA's latent units: what a deterministic autoencoder encodes. It ignores
    the prior, which shrinks the exact posterior's mean towards 0 by ``(Lambda - sigma^2) / Lambda``.
    """
    exact = _exact_posterior(pca, x)
    w = _decoder(pca)
    return Posterior((x - pca.mean_) @ w / np.sum(w * w, axis=0), exact.log_var)


def _elbo(pca: Any, x: Floats, q: Posterior) -> Floats:
    """``E_q[log p(x | z)] - KL(q || N(0, I))`` of each image: a lower bound on ``log p(x)``, tight at the posterior."""
    w, noise = _decoder(pca), float(pca.noise_variance_)
    # E_q |x - mu - W z|^2 = |x - mu - W E_q z|^2 + tr(W Cov_q W^T): the squared error of the mean code plus
    # the spread of the code, mapped through the decoder.
    squared = np.asarray(losskit.reconstruction(q.mean @ w.T + pca.mean_, x, reduction="none"), dtype=np.float64)
    spread = np.exp(q.log_var) @ np.sum(w * w, axis=0)
    expected: Floats = -0.5 * x.shape[1] * np.log(2 * np.pi * noise) - (squared + spread) / (2 * noise)
    return expected - np.asarray(losskit.gaussian_kl(q.mean, q.log_var, reduction="none"), dtype=np.float64)


def _kl_between(q: Posterior, p: Posterior) -> tuple[Floats, Floats]:
    """Arguments of ``gaussian_kl`` (which measures KL from N(0, I)) that give ``KL(q || p)`` instead.

    KL is unchanged by an invertible map applied to both distributions: standardising by ``p``,
    ``z -> (z - mean_p) / sd_p``, turns ``p`` into N(0, I) and ``q`` into
    ``N((mean_q - mean_p) / sd_p, exp(log_var_q - log_var_p))``.
    """
    return (q.mean - p.mean) / np.exp(0.5 * p.log_var), q.log_var - p.log_var


def autoencoder_rows(data: Autoencoder) -> list[Row]:
    from sklearn import metrics

    x, rec, base = data.x_test, data.reconstruction, data.mean_image
    bce = {"kind": "bce"}
    exact = _exact_posterior(data.pca, x)
    prior = Posterior(np.zeros_like(exact.mean), np.zeros_like(exact.mean))
    teacher_mean = np.broadcast_to(data.teacher_mean, data.teacher.shape)
    return [
        Row("autoencoder", "reconstruction", "mse, mean over pixels", f"PCA({LATENTS})",
            _cost(losskit.reconstruction, rec, x, features="mean"),
            "mean image", _cost(losskit.reconstruction, base, x, features="mean"),
            float(metrics.mean_squared_error(x, rec)), "mean_squared_error"),
        # Soft targets: the floor is the pixels' entropy, not 0. The mean image is BCE's best constant too.
        Row("autoencoder", "reconstruction", f"bce, sum over pixels, clip {CLIP}", f"PCA({LATENTS})",
            _cost(losskit.reconstruction, np.clip(rec, CLIP, 1 - CLIP), x, **bce),
            "mean image", _cost(losskit.reconstruction, np.clip(base, CLIP, 1 - CLIP), x, **bce)),
        # The distance of a posterior guess q from PPCA's exact posterior is the ELBO's gap, log p(x) - ELBO(q).
        Row("autoencoder", "gaussian_kl", f"KL(q(z|x) || p(z|x)), PPCA({LATENTS})", "least-squares code",
            _cost(losskit.gaussian_kl, *_kl_between(_least_squares_code(data.pca, x), exact)),
            "prior N(0, I)", _cost(losskit.gaussian_kl, *_kl_between(prior, exact))),
        Row("autoencoder", "kl_divergence", "KL(teacher || student)", f"student on PCA({STUDENT_COMPONENTS})",
            _cost(losskit.kl_divergence, data.student, data.teacher),
            "mean teacher output", _cost(losskit.kl_divergence, teacher_mean, data.teacher)),
        Row("autoencoder", "js_divergence", "JS(teacher, student)", f"student on PCA({STUDENT_COMPONENTS})",
            _cost(losskit.js_divergence, data.student, data.teacher),
            "mean teacher output", _cost(losskit.js_divergence, teacher_mean, data.teacher)),
    ]


# --------------------------------------------------------------------------------------------------
# Embeddings: the digits mapped to 9 dimensions, with their labels (LDA) and without them (PCA).

EMBEDDING_DIM = 9
"""LDA's largest: one fewer than the classes."""


@dataclass(frozen=True)
class Embeddings:
    model: Floats
    """LinearDiscriminantAnalysis's embedding of the test digits, ``(N, 9)``."""
    baseline: Floats
    """PCA's embedding of the test digits, ``(N, 9)``: the linear map to 9-d keeping most variance, blind to labels."""
    labels: Ints
    positive: Ints
    """For each test digit (an anchor), another test digit of its class, drawn at random."""
    negative: Ints
    """For each anchor, a test digit of another class, drawn at random."""


def _embeddings(digits: Split) -> Embeddings:
    from sklearn.decomposition import PCA
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

    def embed(model: Any) -> Floats:
        # Margins are distances: each embedding is scaled to a root-mean-square norm of 1 on the train split.
        train = model.fit(digits.x_train, digits.y_train).transform(digits.x_train)
        scale = np.sqrt(np.mean(np.sum(train * train, axis=1)))
        return np.asarray(model.transform(digits.x_test) / scale, dtype=np.float64)

    labels = np.asarray(digits.y_test, dtype=np.int64)
    rng = np.random.default_rng(SEED)
    n = len(labels)
    positive = [rng.choice(np.flatnonzero((labels == labels[i]) & (np.arange(n) != i))) for i in range(n)]
    negative = [rng.choice(np.flatnonzero(labels != labels[i])) for i in range(n)]
    return Embeddings(
        embed(LinearDiscriminantAnalysis(n_components=EMBEDDING_DIM)),
        embed(PCA(EMBEDDING_DIM, random_state=SEED)),
        labels, np.asarray(positive, dtype=np.int64), np.asarray(negative, dtype=np.int64),
    )


def embedding_rows(data: Embeddings) -> list[Row]:
    y, pos, neg = data.labels, data.positive, data.negative
    # Each anchor once with its positive (same = 1) and once with its negative (same = 0).
    first, second = np.concatenate([np.arange(len(y)), np.arange(len(y))]), np.concatenate([pos, neg])
    same = np.concatenate([np.ones(len(y)), np.zeros(len(y))])
    costs: list[tuple[str, str, Callable[[Floats], float]]] = [
        ("triplet", "margin=1, random triplets",
         lambda z: _cost(losskit.triplet, z, z[pos], z[neg])),
        ("batch_triplet", "hard, margin=0.2, average=mined",
         lambda z: _cost(losskit.batch_triplet, z, y, mining="hard", average="mined")),
        ("contrastive", "margin=1, random pairs",
         lambda z: _cost(losskit.contrastive, z[first], z[second], same)),
        ("info_nce", "temperature=0.07, all test pairs",
         lambda z: _cost(losskit.info_nce, z, y)),
    ]
    return [Row("embedding", name, setting, f"LDA ({EMBEDDING_DIM}-d)", cost(data.model),
                f"PCA ({EMBEDDING_DIM}-d, no labels)", cost(data.baseline))
            for name, setting, cost in costs]


# --------------------------------------------------------------------------------------------------
# GAN: two generators of digit images, each against a discriminator trained to catch it.


@dataclass(frozen=True)
class Duel:
    """A discriminator's logits on the real test images and on fresh fakes of the generator it was trained on."""

    real: Floats
    fake: Floats


@dataclass(frozen=True)
class Adversarial:
    gaussian: Duel
    """Fakes drawn from a Gaussian with the digits' mean and covariance."""
    independent: Duel
    """Fakes whose every pixel is that pixel of a random train image: right marginals, no strokes."""


def _duel(x_train: Floats, x_test: Floats, generate: Callable[[int], Floats]) -> Duel:
    from sklearn.decomposition import PCA
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import PolynomialFeatures, StandardScaler

    # A quadratic discriminator (on the 16 principal axes: 153 features, not the 2,145 of all 64 pixels):
    # a linear one is blind to both generators, which match the digits' mean image.
    discriminator = make_pipeline(PCA(16, random_state=SEED), PolynomialFeatures(2), StandardScaler(),
                                  LogisticRegression(max_iter=5000))
    fakes = generate(len(x_train))
    discriminator.fit(np.concatenate([x_train, fakes]), np.r_[np.ones(len(x_train)), np.zeros(len(fakes))])

    def logits(x: Floats) -> Floats:
        return np.asarray(discriminator.decision_function(x), dtype=np.float64)

    return Duel(logits(x_test), logits(generate(len(x_test))))


def _adversarial(digits: Split) -> Adversarial:
    x_train, x_test = digits.x_train / 16, digits.x_test / 16
    rng = np.random.default_rng(SEED)
    mean, covariance = np.mean(x_train, axis=0), np.cov(x_train, rowvar=False)
    pixels = np.arange(x_train.shape[1])

    def gaussian(n: int) -> Floats:
        return np.asarray(rng.multivariate_normal(mean, covariance, size=n), dtype=np.float64)

    def independent(n: int) -> Floats:
        return np.asarray(x_train[rng.integers(len(x_train), size=(n, len(pixels))), pixels], dtype=np.float64)

    return Adversarial(_duel(x_train, x_test, gaussian), _duel(x_train, x_test, independent))


def gan_rows(data: Adversarial) -> list[Row]:
    d = data.independent
    return [
        # D = 1/2 everywhere (logit 0) is the equilibrium a perfect generator forces: cost 2 log 2.
        Row("gan", "gan_discriminator_loss", "logits; fakes: independent pixels", "LogisticRegression(deg 2)",
            _cost(losskit.gan_discriminator_loss, d.real, d.fake),
            "D = 1/2 (logit 0)", _cost(losskit.gan_discriminator_loss, np.zeros_like(d.real), np.zeros_like(d.fake))),
        # The Gaussian has the digits' mean and covariance, so every feature of a quadratic discriminator has
        # the same mean on real and fake images: the logistic loss is then lowest at D = 1/2 (its gradient
        # vanishes there), and the generator pays log 2, the equilibrium's, up to sampling noise.
        # Independent pixels have the digits' mean but not their covariance: caught.
        Row("gan", "gan_generator_loss", "non_saturating; each G vs its own D", "G = Gaussian(mean, cov)",
            _cost(losskit.gan_generator_loss, data.gaussian.fake),
            "G = independent pixels", _cost(losskit.gan_generator_loss, data.independent.fake)),
    ]


# --------------------------------------------------------------------------------------------------
# Printing.


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[bool]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        padded = (c.rjust(w) if r else c.ljust(w) for c, w, r in zip(cells, widths, right, strict=True))
        return "  ".join(padded).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(headers), rule, *(line(r) for r in rows)])


def _agreement(row: Row) -> str:
    if row.reference is None:
        return "-"
    # Not bit-identical: summation order and log implementations differ, in the last digits only.
    if np.isclose(row.model_cost, row.reference, rtol=1e-9, atol=0.0):
        return f"= {row.reference_name}"
    return f"DIFFERS: {row.reference_name} = {row.reference:.6g}"


def print_results(rows: Sequence[Row]) -> None:
    headers = ["task", "loss", "input", "model", "model cost", "baseline", "baseline cost", "ratio", "sklearn.metrics"]
    cells = [
        [r.task, r.loss, r.setting, r.model, f"{r.model_cost:.4f}", r.baseline, f"{r.baseline_cost:.4f}",
         f"{r.model_cost / r.baseline_cost:.3f}", _agreement(r)]
        for r in rows
    ]
    right = [False, False, False, False, True, False, True, True, False]
    print("Test-set costs (reduction='mean') of a fitted model and of a baseline that ignores what it learns from: "
          "the features;\nfor embeddings the labels, for the GAN generator the correlations between pixels")
    print(f"(train/test split {1 - TEST_SIZE:.0%}/{TEST_SIZE:.0%}, random_state={SEED}; "
          "ratio = model cost / baseline cost, lower is better: every cost is one to minimise)\n")
    print(_table(headers, cells, right))


def print_loss_vs_cost(data: Regression, top: int = 5) -> None:
    """A loss is per example, a cost aggregates it: the mean hides which examples dominate it."""
    s = data.split
    squared = np.asarray(losskit.mse(data.pred, s.y_test, reduction="none"), dtype=np.float64)
    absolute = np.asarray(losskit.mae(data.pred, s.y_test, reduction="none"), dtype=np.float64)
    # |r| orders both losses alike, so the worst examples are the same; their share of the cost is not.
    worst = np.argsort(absolute)[::-1][:top]
    residual = data.pred - s.y_test
    cells = [
        [str(i), f"{residual[i]:+.3f}", f"{residual[i] * data.y_scale:+.1f}", f"{squared[i]:.3f}",
         f"{squared[i] / squared.sum():.1%}", f"{absolute[i]:.3f}", f"{absolute[i] / absolute.sum():.1%}"]
        for i in worst
    ]
    headers = ["test example", "residual (sd)", "(raw units)", "MSE loss", "share of MSE", "MAE loss", "share of MAE"]
    n = len(s.y_test)
    print(f"\nLoss vs cost: the {top} largest per-example losses (reduction='none') of Ridge on the {n} diabetes test "
          "examples\n")
    print(_table(headers, cells, [True] * len(headers)))
    print(f"\n  These {top} examples ({top / n:.1%} of the test set) carry {squared[worst].sum() / squared.sum():.0%} "
          f"of the MSE cost but {absolute[worst].sum() / absolute.sum():.0%} of the MAE cost:")
    print("  squaring lets a few large residuals dominate the mean; the absolute error weighs each one linearly.")
    mean = float(losskit.mse(data.pred, s.y_test))
    print(f"  The cost is the mean of the losses: mse(reduction='mean') = {mean:.6f}, "
          f"mse(reduction='none').mean() = {squared.mean():.6f}")


@dataclass(frozen=True)
class Identity:
    """One number computed by two routes, which must agree to rounding."""

    left: str
    left_value: float
    right: str
    right_value: float


def _hardest_triplets(z: Floats, labels: Ints) -> tuple[Floats, Floats, Floats]:
    """Each anchor with its farthest positive and closest negative, found with scikit-learn's distances."""
    from sklearn.metrics import pairwise_distances

    distances = pairwise_distances(z)
    same = labels[:, None] == labels[None, :]
    np.fill_diagonal(same, False)
    farthest = np.argmax(np.where(same, distances, -np.inf), axis=1)
    closest = np.argmin(np.where(labels[:, None] != labels[None, :], distances, np.inf), axis=1)
    return z, z[farthest], z[closest]


def identities(binary: Binary, multi: MultiClass, seg: Segmentation, ae: Autoencoder, emb: Embeddings,
               gan: Adversarial) -> list[Identity]:
    from sklearn import metrics

    s = multi.split
    one_hot = _one_hot(s.y_test, multi.proba.shape[1])
    # Hard masks pooled over the test set are the pixels' binary classification: Dice is 1 - F1, Jaccard 1 - IoU.
    hard = (seg.proba > 0.5).astype(np.float64)
    pixels, predicted = seg.masks_test.ravel(), hard.ravel()
    pooled = {"batch": True, "smooth": 0.0}
    log_likelihood = float(ae.pca.score(ae.x_test))
    code, exact = _least_squares_code(ae.pca, ae.x_test), _exact_posterior(ae.pca, ae.x_test)
    duel = gan.independent
    return [
        Identity("categorical_cross_entropy(probabilities, one-hot targets)",
                 _cost(losskit.categorical_cross_entropy, multi.proba, one_hot),
                 "sparse_categorical_cross_entropy(probabilities, labels)",
                 _cost(losskit.sparse_categorical_cross_entropy, multi.proba, s.y_test)),
        Identity("sparse_categorical_cross_entropy(probabilities, labels)",
                 _cost(losskit.sparse_categorical_cross_entropy, multi.proba, s.y_test),
                 "sparse_categorical_cross_entropy(logits, labels, from_logits=True)",
                 _cost(losskit.sparse_categorical_cross_entropy, multi.logits, s.y_test, from_logits=True)),
        Identity("binary_cross_entropy(probabilities)",
                 _cost(losskit.binary_cross_entropy, binary.proba, binary.split.y_test),
                 "binary_cross_entropy(logits, from_logits=True)",
                 _cost(losskit.binary_cross_entropy, binary.logits, binary.split.y_test, from_logits=True)),
        Identity("categorical_focal(probabilities, one-hot targets)",
                 _cost(losskit.categorical_focal, multi.proba, one_hot),
                 "sparse_categorical_focal(logits, labels, from_logits=True)",
                 _cost(losskit.sparse_categorical_focal, multi.logits, s.y_test, from_logits=True)),
        Identity("dice(masks of P > 0.5, batch=True, smooth=0)", _cost(losskit.dice, hard, seg.masks_test, **pooled),
                 "1 - sklearn f1_score(pixels)", 1.0 - float(metrics.f1_score(pixels, predicted))),
        Identity("jaccard(masks of P > 0.5, batch=True, smooth=0)",
                 _cost(losskit.jaccard, hard, seg.masks_test, **pooled),
                 "1 - sklearn jaccard_score(pixels)", 1.0 - float(metrics.jaccard_score(pixels, predicted))),
        Identity("kl_divergence(student, teacher)", _cost(losskit.kl_divergence, ae.student, ae.teacher),
                 "categorical_cross_entropy(student, teacher) - (teacher, teacher)",
                 _cost(losskit.categorical_cross_entropy, ae.student, ae.teacher)
                 - _cost(losskit.categorical_cross_entropy, ae.teacher, ae.teacher)),
        # The ELBO is log p(x) minus KL(q || p(z|x)): with the exact posterior it is the log-likelihood itself.
        Identity(f"ELBO, PPCA({LATENTS}) exact posterior: E log p(x|z) - gaussian_kl",
                 float(np.mean(_elbo(ae.pca, ae.x_test, exact))),
                 "log-likelihood, sklearn PCA.score", log_likelihood),
        Identity("ELBO, least-squares code + gaussian_kl gap (the table's row)",
                 float(np.mean(_elbo(ae.pca, ae.x_test, code))) + _cost(losskit.gaussian_kl, *_kl_between(code, exact)),
                 "log-likelihood, sklearn PCA.score", log_likelihood),
        Identity("batch_triplet(LDA embedding, mining='hard', average='mined')",
                 _cost(losskit.batch_triplet, emb.model, emb.labels, mining="hard", average="mined"),
                 "triplet(eps=0, margin=0.2) of the hardest triplets, sklearn distances",
                 _cost(losskit.triplet, *_hardest_triplets(emb.model, emb.labels), margin=0.2, eps=0.0)),
        Identity("gan_minimax_value(D = 1/2 everywhere)",
                 float(losskit.gan_minimax_value(np.zeros_like(duel.real), np.zeros_like(duel.fake))),
                 "-log 4, the value at the game's equilibrium", -float(np.log(4.0))),
        Identity("gan_minimax_value(trained D)", float(losskit.gan_minimax_value(duel.real, duel.fake)),
                 "-gan_discriminator_loss(trained D, kind='minimax')",
                 -_cost(losskit.gan_discriminator_loss, duel.real, duel.fake, kind="minimax")),
    ]


def print_identities(pairs: Sequence[Identity]) -> None:
    print("\nIdentities (each pair computes the same number by two routes)\n")
    width = max(len(name) for p in pairs for name in (p.left, p.right))
    for p in pairs:
        difference = abs(p.left_value - p.right_value)
        print(f"  {p.left:<{width}} = {p.left_value:+.12f}")
        print(f"  {p.right:<{width}} = {p.right_value:+.12f}   |difference| = {difference:.1e}\n")


@dataclass(frozen=True)
class Report:
    rows: list[Row]
    regression: Regression
    """Kept for the loss-vs-cost section."""
    identities: list[Identity]


def check_coverage(rows: Sequence[Row]) -> None:
    # A loss added to losskit without a row here should fail the demo, not vanish from it.
    missing = set(losskit.names()) - {r.loss for r in rows}
    if missing:
        raise RuntimeError(f"losskit.demo does not cover: {', '.join(sorted(missing))}")


def run() -> Report:
    """Fit every model and score it: the demo's numbers, without printing them."""
    regression, binary, multi = _diabetes(), _breast_cancer(), _digits()
    seg, ae, emb, gan = (
        _segmentation(multi.split), _autoencoder(multi), _embeddings(multi.split), _adversarial(multi.split)
    )
    rows = (regression_rows(regression) + binary_rows(binary) + multiclass_rows(multi) + segmentation_rows(seg)
            + autoencoder_rows(ae) + embedding_rows(emb) + gan_rows(gan))
    check_coverage(rows)
    return Report(rows, regression, identities(binary, multi, seg, ae, emb, gan))


def print_report(report: Report) -> None:
    print_results(report.rows)
    print_loss_vs_cost(report.regression)
    print_identities(report.identities)


def main() -> None:
    try:
        import sklearn  # noqa: F401
    except ImportError:
        sys.exit(INSTALL_HINT)
    print_report(run())


if __name__ == "__main__":
    main()
