# nnbp's everyday commands. `make train` and `make test` work on a fresh clone with only
# Python 3.11 and make: each creates .venv and installs what it needs first.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
CONFIG ?= configs/mnist.yaml
DATASET ?= mnist
# Extra arguments for `nnbp train`, e.g. make train ARGS='--overwrite --set training.seed=2'
# (TRAIN_ARGS is the same, under its earlier name).
ARGS ?=
TRAIN_ARGS ?=
# The stamp is redone when the package metadata changes.
STAMP  := $(VENV)/.installed

.PHONY: install data train test lint format seeds reproduce photos bench bench-serve serve-screenshot clean

install: $(STAMP)

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,plot,serve,sweep,onnx,photos]'
	touch $@

data: install
	$(BIN)/nnbp data fetch $(DATASET)

train: install data
	$(BIN)/nnbp train $(CONFIG) $(TRAIN_ARGS) $(ARGS)

test: install
	$(BIN)/python -m pytest --hypothesis-show-statistics

# configs/mnist.yaml over seeds 1 to 5, a sweep on both cores: each seed's validation
# accuracy, the mean and spread, the kept weights' test accuracy. Again: nothing is redone.
SEEDS_SPEC ?= configs/sweeps/seeds.yaml
seeds: install data
	$(BIN)/nnbp sweep run $(SEEDS_SPEC)

# The book's configs with seeds 1-3, then best.yaml and fashion-mnist.yaml; writes
# docs/RESULTS.md. About 10 minutes on 2 cores.
reproduce: install data
	$(BIN)/nnbp data fetch fashion-mnist
	$(BIN)/python scripts/reproduce.py

# nnbp predict on photographed pages and Fashion-MNIST pictures, before and after the
# photo preparation; writes docs/PHOTOS.md and docs/photos/. About 10 minutes on 2 cores.
photos: install data
	$(BIN)/nnbp data fetch fashion-mnist
	$(BIN)/python scripts/photos.py

# Speed against the alternatives (bench/, not part of the tests); writes docs/BENCHMARKS.md.
# About 26 minutes on 2 cores. BASELINE: a git revision whose engine is also timed beside
# the checkout's (e.g. make bench BASELINE=0c9a75a, about 5 minutes more); empty: none.
BASELINE ?=
bench: install data
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python bench/run.py --baseline '$(BASELINE)'

# nnbp serve's predict latency through its API, one request and 200 at once (printed;
# the figures in docs/SERVE.md come from it). RUN: a run directory [runs/latest].
bench-serve: install data
	$(BIN)/python bench/serve_latency.py $(RUN)

# docs/serve.png: the page after the browser test traced an MNIST digit (needs chromium).
serve-screenshot: install data
	NNBP_SERVE_SCREENSHOT=docs/serve.png $(BIN)/python -m pytest -q tests/test_serve_browser.py -k drawn

lint: install
	$(BIN)/ruff check nnbp tests scripts bench
	$(BIN)/ruff format --check nnbp tests scripts bench

format: install
	$(BIN)/ruff format nnbp tests scripts bench
	$(BIN)/ruff check --fix nnbp tests scripts bench

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache .hypothesis
