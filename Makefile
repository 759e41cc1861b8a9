# Two commands on a fresh machine: `make test` and `make book`. Both create .venv if needed.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export MPLBACKEND := Agg

.PHONY: help venv test unit chapters lint book lab clean

help:
	@echo "make test   unit tests + every chapter run by nbval from its .md source"
	@echo "make book   execute every chapter and build the HTML into _build/html"
	@echo "make lab    open JupyterLab on book/ with chapters opening as notebooks"
	@echo "make clean  remove _build and caches (keeps .venv)"

venv: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $(STAMP)

lint: $(STAMP)
	ruff check companion tests conftest.py $(wildcard bench)

unit: $(STAMP)
	$(PY) -m pytest tests -q -n 2

chapters: $(STAMP)
	$(PY) -m pytest book -q -n 2 --dist loadfile --nbval-lax --nbval-current-env

test: $(STAMP) lint
	$(PY) -m pytest tests book -q -n 2 --dist loadfile --nbval-lax --nbval-current-env

book: $(STAMP)
	jupyter-book build . --all -W -n --keep-going
	@echo "The book is at $(CURDIR)/_build/html/index.html"

lab: $(STAMP)
	jupyter lab --notebook-dir=book

clean:
	rm -rf _build .pytest_cache .ruff_cache book/.ipynb_checkpoints
	find . -name __pycache__ -not -path "./$(VENV)/*" -prune -exec rm -rf {} +
