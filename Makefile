# The README's two commands: `make figures` and `make test`. Each makes the
# virtual environment it needs in .venv (re-installing when setup.cfg or
# pyproject.toml change), so both work on a fresh clone.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SCALE ?= default

.PHONY: test figures bench lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip

# .installed-EXTRAS: the package in editable mode with those extras.
$(VENV)/.installed-%: setup.cfg pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -e ".[$*]"
	touch $@

# The tests cross-check against PyTorch: its CPU build, pinned (an unpinned
# torch pulls a CUDA build of several GB).
test: $(VENV)/.installed-test,torch
	$(BIN)/python -m pytest

figures: $(VENV)/.installed-paper
	$(BIN)/python paper/make_figures.py --scale $(SCALE)

bench: $(VENV)/.installed-bench
	cd benchmarks && ../$(BIN)/asv run --python=same --quick --show-stderr

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check rnn_numba tests benchmarks paper
	$(BIN)/ruff format --check rnn_numba tests benchmarks paper

clean:
	rm -rf $(VENV) .hypothesis .pytest_cache
	find . -name __pycache__ -prune -exec rm -rf {} +
