# The README's commands: `make figures`, `make test` and `make docs`. Each makes
# the virtual environment it needs in .venv (re-installing when setup.cfg or
# pyproject.toml change), so each works on a fresh clone.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SCALE ?= default

.PHONY: test figures docs bench bench-check peers lint clean

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

# The documentation site, warnings as errors; open docs/_build/html/index.html.
docs: $(VENV)/.installed-docs
	$(BIN)/python -m sphinx -W --keep-going -b html docs docs/_build/html

# The asv suite once against the working tree (results saved for `asv publish`).
bench: $(VENV)/.installed-bench
	$(BIN)/asv machine --yes
	$(BIN)/asv run --python=same --quick --show-stderr

# Every benchmark still runs (CI): quick mode, nothing saved; asv exits non-zero on a failure.
bench-check: $(VENV)/.installed-bench
	$(BIN)/asv machine --yes
	$(BIN)/asv run --python=same --quick --dry-run --show-stderr

# rnn_numba beside PyTorch and JAX (the README's table and the paper's speed figure).
peers: $(VENV)/.installed-peers,paper
	$(BIN)/python benchmarks/peers.py --repeats 9 --save
	$(BIN)/python benchmarks/peers.py --sweep --dtypes float32 --cells elman lstm --repeats 3 --save
	$(BIN)/python paper/make_figures.py speed

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check rnn_numba tests benchmarks paper examples
	$(BIN)/ruff format --check rnn_numba tests benchmarks paper examples

clean:
	rm -rf $(VENV) .hypothesis .pytest_cache docs/_build docs/generated
	find . -name __pycache__ -prune -exec rm -rf {} +
