# One virtual environment (.venv) for everything, created and reused by every target.
# Tested versions are pinned in constraints.txt; requirements*.txt keep loose ranges for Colab.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup demo test lint format bench clean

$(STAMP): requirements.txt requirements-test.txt constraints.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -r requirements.txt -r requirements-test.txt
	touch $@

setup: $(STAMP)

# The main job: train the reference DCGAN briefly on the default (offline-capable) MNIST data.
demo: $(STAMP)
	$(PY) -m gancourse train --model dcgan32 --data mnist --epochs 2 --out runs/demo
	@echo "samples, loss curves and checkpoint written to runs/demo/"

test: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m pytest

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: $(STAMP)
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

bench: $(STAMP)
	$(PY) bench/train_throughput.py
	$(PY) bench/frechet_speed.py
	$(PY) bench/inception_speed.py
	$(PY) bench/frechet_speed.py
	$(PY) bench/inception_speed.py

clean:
	rm -rf $(VENV) runs .pytest_cache .ruff_cache
