"""The README's commands and example stay true."""

from __future__ import annotations

import re
from pathlib import Path

import losskit
from losskit._core.registry import aliases

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_opens_with_the_two_setup_commands() -> None:
    first_block = re.search(r"```sh\n(.*?)```", README.read_text(), re.S)
    assert first_block is not None
    commands = [line.split("#")[0].strip() for line in first_block.group(1).splitlines()]
    assert commands == ["make demo", "make test"]


def test_readme_example_runs() -> None:
    example = re.search(r"```python\n(.*?)```", README.read_text(), re.S)
    assert example is not None
    namespace: dict[str, object] = {}
    exec(compile(example.group(1), str(README), "exec"), namespace)
    assert namespace["logits"].grad is not None  # type: ignore[attr-defined]


def test_readme_table_lists_every_loss_with_its_aliases() -> None:
    text = README.read_text()
    for name in losskit.names():
        row = next((line for line in text.splitlines() if line.startswith("|") and f"| `{name}` |" in line), None)
        assert row is not None, name
        for alias in aliases(name):
            assert f"`{alias}`" in row, (name, alias)
