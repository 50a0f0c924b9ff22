# Two commands: `make run` and `make test`. Everything else here serves them.
PYTHON ?= $(shell for p in python3.12 python3.11 python3; do \
	if command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(not ((3,11) <= sys.version_info[:2] < (3,13)))' 2>/dev/null; \
	then echo $$p; break; fi; done)
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test install translations bench clean

$(BIN)/civicrules: pyproject.toml
	@test -n "$(PYTHON)" || { echo "Python 3.11 or 3.12 is required (durable_rules does not build on 3.13)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	@touch $@

install: $(BIN)/civicrules translations

translations: $(BIN)/civicrules
	@$(BIN)/pybabel compile -d web/translations >/dev/null
	@$(BIN)/pybabel compile -d admin/translations -D admin >/dev/null

run: install
	$(BIN)/civicrules db upgrade
	$(BIN)/civicrules demo load
	@echo "Demo intake: curl -X POST http://$(HOST):$(PORT)/api/v1/events -H 'Authorization: Bearer <intake token above>' -H 'Content-Type: application/json' -d '{...}'"
	$(BIN)/civicrules serve --host $(HOST) --port $(PORT)

test: install
	CIVICRULES_ARTIFACTS=$${CIVICRULES_ARTIFACTS:-$(CURDIR)/test-artifacts} $(BIN)/python -m pytest -q $(PYTEST_ARGS)

bench: install
	$(BIN)/python bench/evaluate.py
	$(BIN)/python bench/intake.py

clean:
	rm -rf $(VENV) instance .pytest_cache
