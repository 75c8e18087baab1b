# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Two installs, each remembered by a stamp named after the checksum of pyproject.toml and
# constraints.txt (so either re-runs when they change): the runtime (`pip install -e .`, all
# `make run` needs) and the development set on top (`.[dev]`: linters, test tools, browsers'
# driver, the bench baselines) for `make test` and `make lint`. pip never uninstalls here, so
# `make run` after `make test` keeps the dev set and `make test` after `make run` only adds it.
INPUTS := $(shell cat pyproject.toml constraints.txt | cksum | cut -d' ' -f1)
RUN_STAMP := $(VENV)/.installed-run-$(INPUTS)
DEV_STAMP := $(VENV)/.installed-dev-$(INPUTS)
PIP := $(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt

.PHONY: run test lint lock clean

# The interpreter check and the venv, shared by both installs.
define new_venv
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Python 3.11 or newer is needed (found: $$($(PYTHON) --version))"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || \
		{ echo "could not create a virtual environment: on Debian/Ubuntu, apt install python3-venv"; exit 1; }
endef

$(RUN_STAMP): pyproject.toml constraints.txt
	$(new_venv)
	$(PIP) -e .
	@rm -f $(VENV)/.installed-run-*
	@touch $@

# The dev set includes the runtime, so a fresh `make test` installs once and marks both.
$(DEV_STAMP): pyproject.toml constraints.txt
	$(new_venv)
	$(PIP) -e '.[dev]'
	@rm -f $(VENV)/.installed-*
	@touch $@ $(RUN_STAMP)

## run: the web app on http://127.0.0.1:8000 (web chat, dashboard; SQLite in ./var, no tokens)
run: $(RUN_STAMP)
	$(BIN)/lingang-bot serve

## test: lint, type-check and run the whole test suite (PostgreSQL tests included)
test: $(DEV_STAMP) lint
	$(BIN)/pytest

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

## lock: re-resolve the pinned versions in constraints.txt after changing pyproject.toml
lock:
	rm -rf .lock-venv
	$(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	.lock-venv/bin/python -m pip freeze --exclude-editable --disable-pip-version-check > constraints.txt
	rm -rf .lock-venv

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
