# Parley developer commands. `make run` and `make test` work on a fresh machine: they create
# the virtual environment and install what they need on first use.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
export PORTAL_INSTANCE_DIR ?= $(CURDIR)/instance

.PHONY: run test lint format bench catalogues browser-deps clean

# Installs are keyed on pyproject.toml: editing it reinstalls on the next run.
$(BIN)/.installed-run: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(BIN)/.installed-test: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(BIN)/.installed-run

## run: serve the portal on http://$(HOST):$(PORT) from SQLite, with demo data made on first use
run: $(BIN)/.installed-run
	@test -f "$(PORTAL_INSTANCE_DIR)/secrets.json" || \
		$(BIN)/portal init --demo --credentials-out "$(PORTAL_INSTANCE_DIR)/demo-credentials.json"
	@echo "Demo staff accounts: $(PORTAL_INSTANCE_DIR)/demo-credentials.json"
	PORTAL_COOKIE_SECURE=false $(BIN)/portal serve --host $(HOST) --port $(PORT)

## test: lint, the browser module's Node tests, then the whole pytest suite on every core
## (each test file stays on one worker, so module-scoped instances are made once)
test: $(BIN)/.installed-test browser-deps lint
	node --test tests/js/
	$(BIN)/python -m pytest -n auto --dist loadfile

## lint: ruff's checks and formatting, read-only
lint: $(BIN)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

## format: rewrite the Python sources in the project's format
format: $(BIN)/.installed-test
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## bench: print the figures of the benchmarks in bench/
bench: $(BIN)/.installed-test
	$(BIN)/python -m bench

## catalogues: extract every marked string into the template, bring each language's catalogue up
## to date with it (new strings empty, changed ones fuzzy, gone ones dropped) and compile them.
## The compiled .mo files are committed beside the .po files: a checkout and a wheel serve the
## translations as they are, with no build step (tests/integration/test_catalogues.py checks
## that they match).
catalogues: $(BIN)/.installed-test
	$(BIN)/pybabel extract -F babel.cfg --add-location=file --no-wrap --sort-output \
		-c TRANSLATORS: --project=Parley --version=0.1.0 -o portal/translations/messages.pot .
	$(BIN)/pybabel update -i portal/translations/messages.pot -d portal/translations \
		--no-wrap --ignore-obsolete
	$(BIN)/pybabel compile -d portal/translations --statistics

# Browser tests drive Debian's Chromium, the Node tests need Node.js and the reverse-proxy tests
# run Debian's nginx (as the current user, from a temporary folder); all come from apt when this
# runs as root and they are missing, with a font for Chinese pages (Debian's Chromium brings
# fonts for Latin, Cyrillic and Arabic script but none for Chinese, whose characters would show
# as empty boxes in the screenshots). Playwright's own browser download is never used.
# The accessibility tests inject axe-core into the pages they check: npm installs the exact
# version that tests/package-lock.json records (`npm ci`, no install scripts run).
browser-deps:
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	command -v node >/dev/null 2>&1 || missing="$$missing nodejs"; \
	command -v npm >/dev/null 2>&1 || missing="$$missing npm"; \
	{ command -v nginx || test -x /usr/sbin/nginx; } >/dev/null 2>&1 || missing="$$missing nginx"; \
	{ command -v fc-list >/dev/null && fc-list :lang=zh | grep -q .; } || \
		missing="$$missing fonts-wqy-microhei"; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update -qq && apt-get install -y -qq $$missing >/dev/null; \
		else \
			echo "Missing Debian packages:$$missing (install them to run the browser tests)." >&2; \
		fi; \
	fi
	@test tests/node_modules/.package-lock.json -nt tests/package-lock.json || \
		{ cd tests && npm ci --ignore-scripts --no-audit --no-fund; }

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .ruff_cache
