# Two commands: `make run` and `make test`. Everything else here serves them.
PYTHON ?= $(shell for p in python3.12 python3.11 python3; do \
	if command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(not ((3,11) <= sys.version_info[:2] < (3,13)))' 2>/dev/null; \
	then echo $$p; break; fi; done)
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
INSTANCE := $(or $(CIVICRULES_INSTANCE),instance)
LOGS := $(INSTANCE)/logs
# Runs a step with its output in a log file, shown only when the step fails.
quietly = { $(1); } >>$(2) 2>&1 || { tail -n 60 $(2); echo "failed: the whole output is in $(2)"; exit 1; }

.PHONY: run test install translations bench clean

$(BIN)/civicrules: pyproject.toml
	@test -n "$(PYTHON)" || { echo "Python 3.11 or 3.12 is required (durable_rules does not build on 3.13)"; exit 1; }
	@mkdir -p $(LOGS) && : > $(LOGS)/install.log
	@echo "installing into $(VENV) (a few minutes the first time; pip's output: $(LOGS)/install.log)"
	@$(call quietly,$(PYTHON) -m venv $(VENV) && $(BIN)/pip install --upgrade pip && $(BIN)/pip install -e ".[test]",$(LOGS)/install.log)
	@touch $@

install: $(BIN)/civicrules translations

translations: $(BIN)/civicrules
	@mkdir -p $(LOGS)
	@$(call quietly,$(BIN)/pybabel compile -d web/translations && $(BIN)/pybabel compile -d admin/translations -D admin,$(LOGS)/install.log)

# The terminal ends with the address, the demo logins and intake tokens, and where the logs are (civicrules serve).
run: install
	@: > $(LOGS)/setup.log
	@$(call quietly,$(BIN)/civicrules db upgrade,$(LOGS)/setup.log)
	@grep -m1 '^database at' $(LOGS)/setup.log; grep '^warning' $(LOGS)/setup.log || true
	@$(call quietly,$(BIN)/civicrules demo load --quiet,$(LOGS)/setup.log)
	@tail -n 1 $(LOGS)/setup.log
	@$(BIN)/civicrules serve --host $(HOST) --port $(PORT)

# The suite runs in two processes (pytest-xdist), each with its own database or schema, Redis database and instance
# folder; a test file stays in one process and each takes files in the suite's order. TEST_WORKERS=1 runs it in
# one process, TEST_WORKERS=N in N.
TEST_WORKERS ?= 2
XDIST = $(if $(filter 1,$(TEST_WORKERS)),,-n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder)
test: install
	CIVICRULES_ARTIFACTS=$${CIVICRULES_ARTIFACTS:-$(CURDIR)/test-artifacts} $(BIN)/python -m pytest -q \
		$(XDIST) $(PYTEST_ARGS)

bench: install
	$(BIN)/python bench/evaluate.py
	$(BIN)/python bench/intake.py

clean:
	rm -rf $(VENV) instance .pytest_cache
