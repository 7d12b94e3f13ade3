# One virtual environment (.venv) for everything, created and reused by every target.
# Tested versions are pinned in constraints.txt; requirements*.txt keep loose ranges for Colab.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup book demo test browser mathjax sandbox lint format bench clean

REQUIREMENTS := requirements.txt requirements-book.txt requirements-autograder.txt requirements-test.txt
# The book's size: cpu (the published size: digits within minutes on a 2-core CPU), smoke (what
# the tests build: every chapter in about a minute, nothing learns) or full (a GPU).
SIZE ?= cpu
BOOK_OUT := _build/$(SIZE)
BOOK_HTML := $(BOOK_OUT)/_build/html
MATHJAX := .cache/npm/node_modules/mathjax/es5/tex-mml-chtml.js

$(STAMP): $(REQUIREMENTS) constraints.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt $(addprefix -r ,$(REQUIREMENTS))
	touch $@

setup: $(STAMP)

# The main job: execute every chapter and build the book as static HTML. Execution errors and
# Sphinx warnings fail the build (-W). Chapters re-run only when their code changes (cache).
book: $(STAMP) mathjax
	PATH="$(abspath $(VENV))/bin:$$PATH" GANCOURSE_SIZE=$(SIZE) GANCOURSE_BOOK_BUILD=1 \
	$(VENV)/bin/jupyter-book build . --path-output $(BOOK_OUT) -W --keep-going
	@echo "open $(BOOK_HTML)/index.html in a browser (built at size $(SIZE))"

# Train the reference DCGAN briefly from the command line, without the book.
demo: $(STAMP)
	$(PY) -m gancourse train --model dcgan32 --data mnist --epochs 2 --out runs/demo
	@echo "samples, loss curves and checkpoint written to runs/demo/"

# MathJax 3 from the npm registry: the built pages load it from the book's own _static folder
# (book/_ext/local_mathjax.py), so a book built or opened offline renders its maths.
mathjax:
	test -f $(MATHJAX) || npm install --silent --no-audit --no-fund --prefix .cache/npm mathjax@3

# What the browser test needs: Debian's chromium, and the local MathJax.
browser: mathjax
	test -x /usr/bin/chromium || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium)

# What the autograder's sandbox needs: bubblewrap (Linux namespaces; grading refuses without it).
sandbox:
	command -v bwrap >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends bubblewrap)

test: $(STAMP) browser sandbox
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	PATH="$(abspath $(VENV))/bin:$$PATH" $(PY) -m pytest

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: $(STAMP)
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

bench: $(STAMP) sandbox
	$(PY) bench/train_throughput.py
	$(PY) bench/frechet_speed.py
	$(PY) bench/inception_speed.py
	PATH="$(abspath $(VENV))/bin:$$PATH" $(PY) bench/autograde_speed.py

clean:
	rm -rf $(VENV) runs _build .cache .pytest_cache .ruff_cache
