# Two commands: `make run` (the embedded stack) and `make test` (the whole suite).
PYTHON ?= python3.11
VENV   := .venv
STAMP  := $(VENV)/.installed

.PHONY: run test lint clean-data

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)

$(STAMP): pyproject.toml | $(VENV)/bin/python
	$(VENV)/bin/pip install --quiet -e '.[dev,devstack]'
	touch $(STAMP)

run: $(STAMP)  # MVP_TRAINING=1 make run: the training stack (README "Training mode")
	$(VENV)/bin/mvp stack run

test: $(STAMP) lint
	$(VENV)/bin/python -m pytest

lint: $(STAMP)  # style, types over the whole tree (strict for the pure rules and the models), and the import contracts
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy .
	$(VENV)/bin/lint-imports

clean-data:
	rm -rf .data
