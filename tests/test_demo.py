"""`make demo` runs `python -m losskit.demo`: it must cover every loss and rank models above baselines."""

from __future__ import annotations

import re

import pytest

import losskit
from losskit import demo


def test_demo_scores_every_loss_and_each_model_beats_its_baseline(capsys: pytest.CaptureFixture[str]) -> None:
    demo.main()
    out = capsys.readouterr().out
    rows = {line.split()[1]: line for line in out.splitlines() if re.match(r"(regression|binary|multi-class) ", line)}
    assert set(rows) == set(losskit.names())
    for name, row in rows.items():
        ratio = float(re.findall(r"\s(\d\.\d{3})\s", row)[-1])
        assert 0 < ratio < 1, name
