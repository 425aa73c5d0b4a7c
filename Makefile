# Every target creates or reuses .venv in the checkout and installs what it needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo run test lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/crmtui --demo

run: $(STAMP)
	$(BIN)/crmtui

lint: $(STAMP)
	$(BIN)/ruff check crmtui tests benchmarks
	$(BIN)/mypy crmtui
	$(BIN)/lint-imports

test: lint
	$(BIN)/python -m pytest -n 2 -q

bench: $(STAMP)
	$(BIN)/python benchmarks/store.py
	$(BIN)/python benchmarks/emulator.py
	$(BIN)/python benchmarks/sync_contacts.py
	$(BIN)/python benchmarks/sync_activities.py
	$(BIN)/python benchmarks/tui.py
	$(BIN)/python benchmarks/tui_sync.py
	-$(BIN)/python benchmarks/store_pg.py  # needs PostgreSQL on 127.0.0.1:5432
	-$(BIN)/python benchmarks/tui.py --no-launch --runs 3 --contacts 100000 --postgres postgresql://postgres@127.0.0.1/postgres

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
