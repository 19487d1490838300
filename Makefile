# Two entry points a fresh machine needs: `make run` (main job on the embedded default data) and
# `make test` (the whole suite). Both create .venv and install what they need on first use.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip -q --disable-pip-version-check
OUT ?= out
# torch first, pinned: the local CPU wheel; a bare `torch` requirement would pull a multi-GB CUDA build.
TORCH ?= torch==2.13.0
# lmms-eval goes in without its dependency tree (about 6.9 GB); the `eval` extra lists the light set it needs.
LMMS_EVAL ?= lmms-eval==0.7.3
PYTEST_ARGS ?=

.PHONY: run test test-fast bench bench-quick clean

$(VENV)/.installed-core: setup.cfg pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -e .
	touch $@

$(VENV)/.installed-all: $(VENV)/.installed-core
	$(PIP) install $(TORCH)
	$(PIP) install -e '.[dev,eval,train]'
	$(PIP) install --no-deps $(LMMS_EVAL)
	touch $@

run: $(VENV)/.installed-core
	$(VENV)/bin/lego-arta quickstart --out $(OUT)/quickstart

test: $(VENV)/.installed-all
	$(PY) -m pytest -n 2 --durations=15 $(PYTEST_ARGS)

test-fast: $(VENV)/.installed-all
	$(PY) -m pytest -n 2 -m "not slow" $(PYTEST_ARGS)

# Full scale (about 30 min on 2 cores: the study-scale synth + build is most of it); bench-quick: about 5 min.
bench: $(VENV)/.installed-all
	$(PY) benchmarks/run_all.py --out $(OUT)/benchmarks

bench-quick: $(VENV)/.installed-all
	$(PY) benchmarks/run_all.py --quick --out $(OUT)/benchmarks

clean:
	rm -rf $(OUT) .pytest_cache .hypothesis
