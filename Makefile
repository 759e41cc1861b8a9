# Two commands on a fresh machine: `make test` and `make book`. Both create .venv if needed.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
LAB_SETTINGS := $(VENV)/etc/jupyter/labconfig/default_setting_overrides.json
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: help venv test unit chapters lint book lab clean browser-test student student-test \
	test-seeds test-data grade

help:
	@echo "make test   unit tests + every chapter run by nbval from its .md source"
	@echo "make book   execute every chapter, build the HTML into _build/html, and the class pack"
	@echo "make lab    open JupyterLab on book/ with chapters opening as notebooks"
	@echo "make browser-test  check the built pages in headless Chromium (after make book)"
	@echo "make student       student notebooks without solutions, in _build/student"
	@echo "make student-test  check them: no solution left, every cell still runs"
	@echo "make test-seeds    every chapter again with BOOK_SEED=1, then BOOK_SEED=2"
	@echo "make test-data     the data chapters on other data: two more metro twins (one rough), two texts"
	@echo "make grade SUBMISSIONS=dir  grade a folder of student notebooks (grades.csv)"
	@echo "make clean  remove _build and caches (keeps .venv)"

venv: $(STAMP) $(LAB_SETTINGS)

$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	install -D -m 644 jupyter-config/labconfig/default_setting_overrides.json \
	  $(LAB_SETTINGS)
	touch $(STAMP)

lint: $(STAMP)
	ruff check companion tests conftest.py book/_ext tools $(wildcard bench)

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

# The chapters' claims must hold for any seed: BOOK_SEED shifts every seed they use.
NBVAL := $(PY) -m pytest -q -n 2 --dist loadfile --nbval-lax --nbval-current-env

test-seeds: export OMP_NUM_THREADS = 1
test-seeds: $(STAMP)
	BOOK_SEED=1 $(NBVAL) book
	BOOK_SEED=2 $(NBVAL) book

# ... and on other data of the same kind (tools/make_test_data.py says what each file is).
DATA := $(CURDIR)/_build/data
DATA_CHAPTERS := book/02_rnn.md book/02b_metro_experiments.md book/04_sentences.md \
  book/04b_truncated_bptt.md book/05_lstm_gru.md book/05b_language_models.md \
  book/05c_monitoring.md book/06_decoding.md book/08_transformers.md \
  book/09_linear_recurrences.md book/05d_overfitting.md
FORTUNES := /usr/share/games/fortunes/fortunes

$(FORTUNES):
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fortunes; \
	else \
	  echo "test-data needs Debian's 'fortunes' package: sudo apt-get install fortunes" >&2; \
	  exit 1; \
	fi

$(DATA)/fortunes.txt: tools/make_test_data.py $(STAMP) $(FORTUNES)
	$(PY) tools/make_test_data.py $(DATA)

test-data: export OMP_NUM_THREADS = 1
test-data: $(DATA)/fortunes.txt
	METRO_PATH=$(DATA)/metro_twin.pch TEXT_PATH=$(DATA)/fortunes.txt $(NBVAL) $(DATA_CHAPTERS)
	METRO_PATH=$(DATA)/metro_rough.pch $(NBVAL) book/02_rnn.md book/02b_metro_experiments.md
	TEXT_PATH=$(DATA)/licenses.txt $(NBVAL) $(DATA_CHAPTERS)

# Then the class pack beside the pages (the intro links it): the wheel, and a zip of the
# student notebooks with that wheel.
book: $(STAMP)
	jupyter-book build . --all -W -n --keep-going
	$(PY) tools/class_pack.py _build/html/class-pack
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
	BOOK_HTML=$(CURDIR)/_build/html $(PY) -m pytest tests/browser tests/test_numbering.py \
	  -q -p no:xdist

student: $(STAMP)
	rm -rf _build/student
	$(PY) tools/student.py book _build/student

student-test: export OMP_NUM_THREADS = 1
student-test: student
	$(PY) -m pytest tests/test_student.py _build/student -q -n 2 --dist loadfile \
	  --nbval-lax --nbval-current-env

# The teacher's grader: every answer cell in a fresh process, public and hidden checks.
grade: $(STAMP)
	@test -n "$(SUBMISSIONS)" || { echo "usage: make grade SUBMISSIONS=folder" >&2; exit 2; }
	$(PY) tools/grade.py "$(SUBMISSIONS)"

# JupyterLab opens the chapters as notebooks: the repository's setting (jupytext's
# viewer for Markdown and MyST), installed into the environment.
$(LAB_SETTINGS): jupyter-config/labconfig/default_setting_overrides.json $(STAMP)
	install -D -m 644 $< $@

lab: $(STAMP) $(LAB_SETTINGS)
	jupyter lab --notebook-dir=book $$([ "$$(id -u)" = 0 ] && echo --allow-root)

clean:
	rm -rf _build .pytest_cache .ruff_cache book/.ipynb_checkpoints
	find . -name __pycache__ -not -path "./$(VENV)/*" -prune -exec rm -rf {} +
