# The two commands of the README: `make run` and `make test`. Everything else is a helper.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
CONFIG ?= config.yaml

.PHONY: run test install chat keys clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

keys: install
	$(BIN)/grievance --config $(CONFIG) init

run: keys
	@echo
	@echo "The hotline is starting on http://127.0.0.1:8080 (health: /health)."
	@echo "Chat with it as a worker, in another terminal:   make chat"
	@echo "  (or: $(BIN)/grievance chat --sender +15550001 --channel sms)"
	@echo "Then, as the operator:  $(BIN)/grievance cases pull && $(BIN)/grievance cases list"
	@echo "Stop with Ctrl-C."
	@echo
	$(BIN)/grievance --config $(CONFIG) serve

chat: keys
	$(BIN)/grievance --config $(CONFIG) chat --sender local-worker-1

test: install
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) .pytest_cache
