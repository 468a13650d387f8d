# Two commands matter: `make run` (the main job on DuckDB) and `make test`.
# Both create .venv and install the pinned dependencies on first use; later
# calls skip the install until pyproject.toml or constraints.txt change.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# The assistant's embedding model runs on CPU torch. The pinned
# torch==2.13.0+cpu is in this machine's local wheel folder; elsewhere set
# TORCH_INDEX=https://download.pytorch.org/whl/cpu to fetch that build.
TORCH_INDEX ?=

.PHONY: install run test lint format bench docs app clean

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check \
		$(if $(TORCH_INDEX),--extra-index-url $(TORCH_INDEX)) \
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
	$(BIN)/python bench/bench_run.py
	$(BIN)/python bench/bench_pii.py
	$(BIN)/python bench/bench_ml.py
	$(BIN)/python bench/bench_drift.py
	$(BIN)/python bench/bench_rag.py

docs: $(STAMP)
	$(BIN)/diamond docs --serve

app: $(STAMP)
	$(BIN)/diamond app

clean:
	rm -rf target logs warehouse .pytest_cache
