"""The built-in tasks, in the order the tour runs them: one module each."""

from __future__ import annotations

from ..task import Task
from . import autoencoder, binary, embedding, gan, imbalanced, multiclass, regression, segmentation

TASKS: dict[str, Task] = {t.name: t for t in (
    regression.TASK, binary.TASK, imbalanced.TASK, multiclass.TASK, segmentation.TASK, autoencoder.TASK, gan.TASK,
    embedding.TASK)}
