# maskdepth — the two set-up commands (each creates .venv when absent):
#   make demo   install, then run the whole job (generate → train → evaluate → predict) on the embedded default
#   make test   install with test extras, then run the test suite
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SHARED ?= ../shared

.PHONY: demo demo-real test install real-run clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@

install: $(VENV)/.installed

demo: install
	$(BIN)/maskdepth demo --out demo_out

# the same job on real photos (../shared/data or MASKDEPTH_DATA)
demo-real: install
	MASKDEPTH_DATA=$(SHARED)/data $(BIN)/maskdepth demo --out demo_real_out

test: install
	OMP_NUM_THREADS=1 $(BIN)/python -m pytest tests --durations=15

clean:
	rm -rf demo_out demo_real_out .pytest_cache
