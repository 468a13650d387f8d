# Two commands matter: `make run` (the main job on DuckDB) and `make test`.
# Both create .venv and install the pinned dependencies on first use; later
# calls skip the install until pyproject.toml or constraints.txt change.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install run test lint format bench docs clean

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check \
		-c constraints.txt -e '.[dev]'
	@touch $@

install: $(STAMP)

run: $(STAMP)
	$(BIN)/diamond run

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	@mkdir -p target/sqlfluff
	DBT_TARGET_PATH=target/sqlfluff \
		DIAMOND_DUCKDB_PATH=target/sqlfluff/lint.duckdb \
		$(BIN)/sqlfluff lint models analyses tests

test: lint
	$(BIN)/pytest

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	$(BIN)/python bench/bench_ingest.py
	$(BIN)/python bench/bench_pii.py

docs: $(STAMP)
	$(BIN)/diamond docs --serve

clean:
	rm -rf target logs warehouse .pytest_cache
