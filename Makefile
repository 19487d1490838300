# Two entry points a fresh machine needs: `make run` (main job on the embedded default data) and
# `make test` (the whole suite). Both create .venv and install the locked environment on first use.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
OUT ?= out
# The locks (requirements/*.txt, made by `make lock`): core for `make run`, full for everything else.
CORE_LOCK := requirements/core.txt
FULL_LOCK := requirements/full.txt
UV_VERSION := $(shell sed -n 's/^uv==//p' $(CORE_LOCK))
# Where the CPU torch wheel (torch==2.13.0+cpu in the full lock) is found: this machine's wheel
# folder where it exists, else PyTorch's CPU wheel listing.
TORCH_WHEELS ?= $(firstword $(wildcard /opt/wheels) https://download.pytorch.org/whl/cpu/torch/)
UV_INSTALL_FLAGS := --python $(PY) --find-links $(TORCH_WHEELS) --compile-bytecode
# The lock is resolved for the CI target (CPython 3.11 on Linux x86-64), wherever `make lock` runs.
LOCK_FLAGS := --python-version 3.11 --python-platform x86_64-manylinux_2_28 --find-links $(TORCH_WHEELS) \
	--custom-compile-command 'make lock' -q $(if $(UPGRADE),--upgrade)
EXTRAS := --extra dev --extra eval --extra serve --extra train --extra qa --extra scale
PYTEST_ARGS ?=
# `make test` (what CI runs) draws the same property-test examples every run, so a red CI names a
# reproducible failure; explore other examples with e.g. `make test HYPOTHESIS_SEED=$$RANDOM`.
HYPOTHESIS_SEED ?= 0

.PHONY: run test test-fast lint format test-latest lock install-gpu bench bench-quick clean

$(PY):
	$(PYTHON) requirements/check_python.py
	$(PYTHON) -m venv $(VENV)

$(UV): | $(PY)
	$(PY) -m pip -q --disable-pip-version-check install uv==$(UV_VERSION)

# Core: `pip install`-style, so that a venv already holding the full lock keeps it (core ⊂ full, same pins).
$(VENV)/.installed-core: $(CORE_LOCK) setup.cfg pyproject.toml | $(UV)
	$(UV) pip install -q $(UV_INSTALL_FLAGS) --no-deps -r $(CORE_LOCK)
	$(UV) pip install -q $(UV_INSTALL_FLAGS) --no-deps -e .
	touch $@

# Full: synced, so the venv holds exactly the lock (tests/test_environment.py checks it).
$(VENV)/.installed-all: $(FULL_LOCK) setup.cfg pyproject.toml | $(UV)
	$(UV) pip sync -q $(UV_INSTALL_FLAGS) $(FULL_LOCK)
	$(UV) pip install -q $(UV_INSTALL_FLAGS) --no-deps -e .
	touch $@ $(VENV)/.installed-core

run: $(VENV)/.installed-core
	$(VENV)/bin/lego-arta quickstart --out $(OUT)/quickstart

test: $(VENV)/.installed-all
	$(PY) -m pytest -n 2 --durations=15 --hypothesis-seed=$(HYPOTHESIS_SEED) $(PYTEST_ARGS)

# The formatter and linter (ruff, pinned in the lock; configured in pyproject.toml): `make lint` checks, `make format` rewrites.
lint: $(VENV)/.installed-all
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .

format: $(VENV)/.installed-all
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

test-fast: $(VENV)/.installed-all
	$(PY) -m pytest -n 2 -m "not slow" $(PYTEST_ARGS)

# Not run by CI: a throwaway venv from setup.cfg's ranges (newest releases) runs the suite, and on a
# failure names the upstream package whose new release breaks it (requirements/latest.py).
test-latest: $(VENV)/.installed-core
	$(PY) requirements/latest.py --python $(PYTHON) --venv $(OUT)/latest-venv --find-links $(TORCH_WHEELS) $(PYTEST_ARGS)

# Regenerate the locks, keeping current pins where they still fit; `make lock UPGRADE=1` takes the
# newest releases the ranges allow. lmms-eval is appended unresolved: it goes in without its tree.
lock: | $(UV)
	$(UV) pip compile setup.cfg $(EXTRAS) requirements/full.in requirements/tools.in $(LOCK_FLAGS) -o $(FULL_LOCK)
	cat requirements/lmms-eval.txt >> $(FULL_LOCK)
	$(UV) pip compile setup.cfg requirements/tools.in -c $(FULL_LOCK) $(LOCK_FLAGS) -o $(CORE_LOCK)

# GPU machines: install your CUDA build of torch into .venv first; this adds the full lock minus torch.
install-gpu: | $(UV)
	$(PY) -c 'import torch; print("keeping torch", torch.__version__, "cuda", torch.version.cuda)'
	grep -v '^torch==' $(FULL_LOCK) > $(VENV)/gpu-lock.txt
	$(UV) pip install -q --python $(PY) --no-deps -r $(VENV)/gpu-lock.txt
	$(UV) pip install -q --python $(PY) --no-deps -e .

# Full scale (about 30 min on 2 cores: the study-scale synth + build is most of it); bench-quick: about 5 min.
bench: $(VENV)/.installed-all
	$(PY) benchmarks/run_all.py --out $(OUT)/benchmarks

bench-quick: $(VENV)/.installed-all
	$(PY) benchmarks/run_all.py --quick --out $(OUT)/benchmarks

clean:
	rm -rf $(OUT) .pytest_cache .hypothesis
