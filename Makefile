# The two commands of the quick start, plus the checks a change must pass.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint format bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## run: install, create the database and load demo data when it is empty, print a few
## answers, and serve the playground on http://127.0.0.1:3000/ (opening a browser if any)
run: $(STAMP)
	$(BIN)/closeloop demo

## test: install and run the whole suite (SQLite and PostgreSQL), on TEST_WORKERS processes
## (every test has its own database, schema, ports and temporary files, so they run apart)
TEST_WORKERS ?= 2
test: $(STAMP)
	$(BIN)/python -m pytest -n $(TEST_WORKERS)

## lint: ruff and mypy, as CI would
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## bench: the benchmark suite (seeds and imports at full size; takes minutes)
bench: $(STAMP)
	$(BIN)/closeloop bench

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache *.egg-info
