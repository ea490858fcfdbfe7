# The course's entry points. Every target runs the set-up first (idempotent, offline and under a
# second when done).
# See README.md. Variables: PROFILE (tiny|hub), PYTHON (interpreter used to create .venv).
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PROFILE ?= tiny
# Offline, guarded, reproducible: the environment every headless run uses.
RUN_ENV := COURSE_PROFILE=$(PROFILE) COURSE_HEADLESS=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1 \
	COURSE_NETWORK_GUARD=1 PYTHONPATH=$(CURDIR)/course_utils/_guard MPLBACKEND=Agg \
	COURSE_CACHE_DIR=$(CURDIR)/build/cache TOKENIZERS_PARALLELISM=false PYDEVD_DISABLE_FILE_VALIDATION=1

.PHONY: setup test unit course lab bench data slides clean help reproduce seeds hub-smoke
help:
	@echo "make setup   install everything (the only step that needs the network): .venv with pinned versions,"
	@echo "             Chromium/Node.js/npm (as root, with apt-get), the slides' npm packages (npm ci)"
	@echo "make test    unit tests + every notebook (nbval) + lesson claims, offline"
	@echo "make course  execute every notebook -> build/ (notebooks, HTML, results, slides)"
	@echo "make lab     open JupyterLab on notebooks/"
	@echo "make bench   time and peak memory of each notebook"
	@echo "make reproduce  run lesson 03 twice from scratch and compare its records"
	@echo "make seeds   run lessons 01-08 with seeds 0, 1, 2 -> build/seeds/spread.md, frontier.png (the claims' seed spread)"
	@echo "make hub-smoke  every notebook in the hub profile's code paths (stand-in Hub cache, smoke sizes, fp16 + bf16)"
	@echo "make data    regenerate data/ (byte for byte)"
	@echo "make slides  build the instructor decks into build/slides/"
	@echo "make clean   remove build/ (keeps .venv and your saved models)"

setup:
	@bash scripts/setup_env.sh

# set-up, ruff, base model, unit tests, lesson 04's sweep, every notebook under nbval (parallel lanes,
# one torch thread each), the stand-in Hub pass beside the capstone, claims + integration tests;
# timed against tests/budget.toml
test:
	@start=$$(date +%s); bash scripts/setup_env.sh && \
	  $(RUN_ENV) $(PY) scripts/test_suite.py --setup-seconds $$(( $$(date +%s) - start ))

unit: setup
	$(RUN_ENV) $(PY) -m pytest -q -ra tests/unit

course: setup
	$(RUN_ENV) $(PY) scripts/run_course.py
	$(MAKE) --no-print-directory slides

lab: setup
	$(VENV)/bin/jupyter lab notebooks/

reproduce: setup
	$(RUN_ENV) $(PY) scripts/reproduce.py

hub-smoke: setup
	$(RUN_ENV) $(PY) scripts/hub_smoke.py

seeds: setup
	$(RUN_ENV) $(PY) scripts/seed_spread.py --jobs 2

bench: setup
	$(RUN_ENV) $(PY) scripts/bench.py

data: setup
	$(PY) scripts/make_data.py

slides: setup
	$(RUN_ENV) $(PY) -m course_utils.slides

clean:
	rm -rf build/
