# Two commands on a fresh machine: `make test` and `make book`. Both create .venv if needed.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
LAB_SETTINGS := $(VENV)/etc/jupyter/labconfig/default_setting_overrides.json
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: help venv test unit chapters lint book lab clean browser-test student student-test

help:
	@echo "make test   unit tests + every chapter run by nbval from its .md source"
	@echo "make book   execute every chapter and build the HTML into _build/html"
	@echo "make lab    open JupyterLab on book/ with chapters opening as notebooks"
	@echo "make browser-test  check the built pages in headless Chromium (after make book)"
	@echo "make student       student notebooks without solutions, in _build/student"
	@echo "make student-test  check them: no solution left, every cell still runs"
	@echo "make clean  remove _build and caches (keeps .venv)"

venv: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $(STAMP)

lint: $(STAMP)
	ruff check companion tests conftest.py book/_ext $(wildcard bench)

unit: $(STAMP)
	$(PY) -m pytest tests -q -n 2 --ignore=tests/browser

chapters: export OMP_NUM_THREADS = 1
chapters: $(STAMP)
	$(PY) -m pytest book -q -n 2 --dist loadfile --nbval-lax --nbval-current-env

# Two chapters run at once on two cores: one thread each keeps them from fighting.
test: export OMP_NUM_THREADS = 1
test: $(STAMP) lint
	$(PY) -m pytest tests book -q -n 2 --dist loadfile --nbval-lax --nbval-current-env \
	  --ignore=tests/browser

book: $(STAMP)
	jupyter-book build . --all -W -n --keep-going
	@echo "The book is at $(CURDIR)/_build/html/index.html"

# Chromium comes from Debian's package; Playwright (from requirements.txt) drives it.
CHROMIUM ?= /usr/bin/chromium
export CHROMIUM

$(CHROMIUM):
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	else \
	  echo "browser-test needs Chromium at $(CHROMIUM): install Debian's 'chromium' package" \
	       "(sudo apt-get install chromium) or set CHROMIUM=/path/to/chromium" >&2; exit 1; \
	fi

browser-test: $(STAMP) $(CHROMIUM) $(LAB_SETTINGS)
	test -f _build/html/index.html || $(MAKE) book
	$(PY) -m pytest tests/browser -q -p no:xdist

student: $(STAMP)
	rm -rf _build/student
	$(PY) -m companion.student book _build/student

student-test: export OMP_NUM_THREADS = 1
student-test: student
	$(PY) -m pytest tests/test_student.py _build/student -q -n 2 --dist loadfile \
	  --nbval-lax --nbval-current-env

$(LAB_SETTINGS): $(STAMP)
	jupytext-config --settings-file $(LAB_SETTINGS) set-default-viewer

lab: $(STAMP) $(LAB_SETTINGS)
	jupyter lab --notebook-dir=book $$([ "$$(id -u)" = 0 ] && echo --allow-root)

clean:
	rm -rf _build .pytest_cache .ruff_cache book/.ipynb_checkpoints
	find . -name __pycache__ -not -path "./$(VENV)/*" -prune -exec rm -rf {} +
