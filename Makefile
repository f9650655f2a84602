# molmo — install, test, demo.
# On this CPU machine torch is pinned to the local CPU wheel through constraints/cpu.txt.
# CUDA users: `make install CONSTRAINTS=` (no constraint) or point CONSTRAINTS at your own file.
PYTHON ?= python3
VENV ?= .venv
CONSTRAINTS ?= constraints/cpu.txt
PIP_C := $(if $(CONSTRAINTS),-c $(CONSTRAINTS),)
BIN := $(VENV)/bin
export PYTHONWARNINGS ?= ignore::FutureWarning

.PHONY: install install-dev test

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install -q $(PIP_C) -e .

install-dev: $(BIN)/python
	$(BIN)/pip install -q $(PIP_C) -e '.[dev,tensorboard]'

test: install-dev
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)
