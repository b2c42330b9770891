# Two entry points, both starting from a fresh clone:
#   make demo   set up, then grade the bundled sample submission (partial credit)
#   make test   set up, then run ruff and the kit's own tests
# Set-up: a virtualenv in .venv with the kit and its extras, and MNIST fetched and verified.

# The first interpreter that really runs and is a supported version (pyenv shims may not run).
PYTHON ?= $(shell for p in python3.11 python3.12 python3.10 python3; do \
             $$p -c 'import sys; assert (3, 10) <= sys.version_info[:2] < (3, 13)' >/dev/null 2>&1 \
             && echo $$p && break; done)
VENV   := .venv
BIN    := $(VENV)/bin
export PATH := $(abspath $(BIN)):$(PATH)
export TF_CPP_MIN_LOG_LEVEL := 3
export TF_ENABLE_ONEDNN_OPTS := 0

.PHONY: setup demo test lint generate clean

$(BIN)/python:
	@test -n "$(PYTHON)" || { echo "error: Python 3.10, 3.11 or 3.12 is needed" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[course,cluster,service,dev]"
	touch $@

# The kit's bytecode is written once here (an editable install has none, and a grading process
# started with PYTHONDONTWRITEBYTECODE would compile every module it imports, each time).
setup: $(VENV)/.installed
	$(BIN)/python -m compileall -q autograder coursekit
	$(BIN)/autograder data

demo: setup
	$(BIN)/autograder grade mlp_mnist samples/mlp_mnist/student_with_bugs.ipynb --json results.json

lint: $(VENV)/.installed
	$(BIN)/ruff check .

test: setup lint
	$(BIN)/python -m pytest

generate: $(VENV)/.installed
	$(BIN)/autograder generate

clean:
	rm -rf $(VENV) results.json
