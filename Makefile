# Entry points: `make demo` (the lab's tour), `make test` and `make bench`. Each creates .venv on first use.
# torch is pinned and installed first: an unpinned torch pulls a CUDA build of several GB.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
TORCH  := torch==2.13.0

.PHONY: demo test fuzz bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.demo: $(BIN)/python pyproject.toml
	$(BIN)/pip install -q "$(TORCH)"
	$(BIN)/pip install -q -e ".[lab]"
	touch $@

$(VENV)/.test: $(BIN)/python pyproject.toml
	$(BIN)/pip install -q "$(TORCH)"
	$(BIN)/pip install -q -e ".[test]"
	touch $@

# Trains every built-in task with competing losses; writes losskit-tour/report.html. ARGS="--quick" for a smoke run.
demo: $(VENV)/.demo
	$(BIN)/losskit tour --force $(ARGS)

test: $(VENV)/.test
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/python -m pytest -n auto

# The property fuzzer (tests/test_fuzz.py) with its long profile: many more examples per loss than CI's.
fuzz: $(VENV)/.test
	LOSSKIT_FUZZ=long $(BIN)/python -m pytest -n auto tests/test_fuzz.py

# losskit against its peers (time, memory); writes benchmarks/results.md. ARGS="--quick" for a smoke run.
bench: $(VENV)/.test
	$(BIN)/python benchmarks/bench.py $(ARGS)

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache .mypy_cache .ruff_cache .hypothesis
