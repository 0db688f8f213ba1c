# skillcert — the two commands a fresh machine needs: `make demo` and `make test`.
# Each set-up step leaves a stamp in .stamps/ and is redone only when its inputs change.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMPS := .stamps
VENDOR := web/static/vendor
DEMO_ENV := SKILLCERT_DEMO=true

.PHONY: demo test setup migrate seed catalogs i18n-extract lint bench clean help

help:
	@echo "make demo   set up, migrate, seed and serve on http://127.0.0.1:8000"
	@echo "make test   set up and run the whole test suite"

setup: $(STAMPS)/python $(STAMPS)/frontend catalogs

$(STAMPS)/python: pyproject.toml
	@mkdir -p $(STAMPS)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	@touch $@

# Front-end packages from the npm registry, pinned by package-lock.json, copied into a
# git-ignored static folder: test centers are often offline, so nothing comes from a CDN.
$(STAMPS)/frontend: package.json package-lock.json
	@mkdir -p $(STAMPS) $(VENDOR)/htmx $(VENDOR)/pico $(VENDOR)/chartjs
	npm ci --no-audit --no-fund --loglevel=error
	cp node_modules/htmx.org/dist/htmx.min.js $(VENDOR)/htmx/htmx.min.js
	cp node_modules/htmx-ext-ws/dist/ws.js $(VENDOR)/htmx/ws.js
	cp node_modules/@picocss/pico/css/pico.min.css $(VENDOR)/pico/pico.min.css
	cp node_modules/chart.js/dist/chart.umd.min.js $(VENDOR)/chartjs/chart.umd.min.js
	@touch $@

catalogs: $(STAMPS)/catalogs

$(STAMPS)/catalogs: $(STAMPS)/python $(wildcard web/translations/*/LC_MESSAGES/messages.po)
	$(BIN)/pybabel -q compile -d web/translations -D messages
	@touch $@

i18n-extract: $(STAMPS)/python
	$(BIN)/pybabel extract -F babel.cfg -k _ -k gettext -k ngettext:1,2 -k N_ -o web/translations/messages.pot --no-location --sort-output --omit-header .
	$(BIN)/pybabel update -i web/translations/messages.pot -d web/translations -D messages --no-fuzzy-matching --ignore-obsolete

migrate: setup
	$(DEMO_ENV) $(BIN)/skillcert db upgrade

seed: migrate
	$(DEMO_ENV) $(BIN)/skillcert demo seed

demo: seed
	$(DEMO_ENV) $(BIN)/skillcert serve

test: setup
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: setup
	$(BIN)/lint-imports

bench: setup
	$(BIN)/python bench/calibration.py --quick
	$(BIN)/python bench/simulations.py

clean:
	rm -rf $(VENV) $(STAMPS) node_modules $(VENDOR)
