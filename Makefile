# molmo — install, test, demo.
# On this CPU machine torch is pinned to the local CPU wheel through constraints/cpu.txt.
# CUDA users: `make install CONSTRAINTS=` (no constraint) or point CONSTRAINTS at your own file.
PYTHON ?= python3
VENV ?= .venv
CONSTRAINTS ?= constraints/cpu.txt
PIP_C := $(if $(CONSTRAINTS),-c $(CONSTRAINTS),)
BIN := $(VENV)/bin
export PYTHONWARNINGS ?= ignore::FutureWarning

.PHONY: install install-dev test demo

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install -q $(PIP_C) -e .

install-dev: $(BIN)/python
	$(BIN)/pip install -q $(PIP_C) -e '.[dev,tensorboard]'

test: install-dev
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

# The bundled tiny-shapes demo model answers questions about bundled example scenes.
demo: install
	$(BIN)/molmo predict examples/shapes/circles.png "How many circles are there?"
	$(BIN)/molmo predict examples/shapes/orange-circle.png "What color is the circle?"
	$(BIN)/molmo predict examples/shapes/number-78.png "What number is written in the image?"
	$(BIN)/molmo predict examples/shapes/orange-circle.png "Point to the orange circle." --draw demo-pointing.png
