# maskdepth — the two set-up commands (each creates .venv when absent):
#   make demo   install with every extra (.[all]: train, serve, video), then run the whole job
#               (generate → train → evaluate → predict) on the embedded default
#   make test   install with every extra and the test extras (.[all,test]), then lint (ruff) and run the test suite
# (`pip install .` alone installs only prediction with ONNX Runtime: no torch.)
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SHARED ?= ../shared
# every install is constrained to the versions the suite was run with (requirements/constraints.txt; `make lock` updates it)
PIP := $(BIN)/python -m pip install -q -c requirements/constraints.txt

.PHONY: demo demo-real test lint install install-test lock real-run clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# roboflow `trackers` (the tracker, issue 21) requires opencv-python, which would overwrite opencv-python-headless
# (both provide cv2; trackers issue #454): it is installed without its dependencies, which the [track] extra lists
# (all but opencv-python), at the version constraints.txt pins
TRACKERS := $(PIP) --no-deps trackers

# torch first, pinned (the [train] extra pins the same version)
$(VENV)/.installed-all: $(BIN)/python pyproject.toml requirements/constraints.txt
	$(PIP) torch==2.13.0
	$(PIP) -e '.[all]'
	$(TRACKERS)
	touch $@

$(VENV)/.installed-test: $(BIN)/python pyproject.toml requirements/constraints.txt
	$(PIP) torch==2.13.0
	$(PIP) -e '.[all,test]'
	$(TRACKERS)
	touch $@ $(VENV)/.installed-all

install: $(VENV)/.installed-all

install-test: $(VENV)/.installed-test

demo: install
	$(BIN)/maskdepth demo --out demo_out

# the same job on real photos (../shared/data or MASKDEPTH_DATA)
demo-real: install
	MASKDEPTH_DATA=$(SHARED)/data $(BIN)/maskdepth demo --out demo_real_out

# ruff (lint + format check, configured in pyproject.toml), then the suite
lint: install-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: install-test lint
	OMP_NUM_THREADS=1 $(BIN)/python -m pytest tests --durations=15

# regenerate requirements/constraints.txt on purpose: a fresh venv with the newest versions pyproject.toml allows
# (torch pinned), frozen; then run `make test` and commit requirements/constraints.txt with what changed
lock:
	rm -rf .venv-lock && $(PY) -m venv .venv-lock
	.venv-lock/bin/python -m pip install -q --upgrade pip
	.venv-lock/bin/python -m pip install -q torch==2.13.0
	.venv-lock/bin/python -m pip install -q -e '.[all,test]'
	.venv-lock/bin/python -m pip install -q --no-deps trackers
	{ sed -n '1,2p' requirements/constraints.txt; .venv-lock/bin/python -m pip freeze --exclude-editable | sed 's/+cpu$$//'; } > requirements/constraints.txt.tmp
	mv requirements/constraints.txt.tmp requirements/constraints.txt && rm -rf .venv-lock

clean:
	rm -rf demo_out demo_real_out .pytest_cache
