# Paysage: `make run` serves the portal on its embedded default; `make test` runs the whole suite.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | (sha1sum 2>/dev/null || shasum) | cut -c1-12)
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/paysage

.PHONY: install run test lint services bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	@rm -f $(VENV)/.installed-* && touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py demo
	$(BIN)/python manage.py serve

test: install services
	DATABASE_URL=$(TEST_DATABASE_URL) $(BIN)/pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .

services:
	@sh scripts/services.sh

bench: install
	@echo "Benchmarks: see bench/README.md"

clean:
	rm -rf $(VENV) var staticfiles
