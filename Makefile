# RedFire: every target installs what it needs into .venv first (make install).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV := $(BIN)/uv
STAGE ?= dev
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export UV_PROJECT_ENVIRONMENT := $(VENV)
# Tests never need an AWS account; keep a developer's credentials out of them.
TEST_ENV := env -u AWS_PROFILE -u AWS_ENDPOINT_URL
# checkov pins boto3 1.35, which the project's lock rules out: a venv of its own, from a
# pinned, hashed requirements file (tests/infra/test_scanners.py runs it on the prod template).
CHECKOV_VENV := .venv-checkov
CHECKOV_REQUIREMENTS := devtools/scanners/checkov-requirements.txt
# The `vectorbt` dependency group (numba, scipy, ...) is for the backtest benchmark only:
# it installs the group into .venv-vectorbt itself; install, dev and test leave it out.

.PHONY: install scanners console console-report chromium dev test lint unit integration e2e infra bench synth schemas docs clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml uv.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	test -x $(UV) || $(BIN)/pip install --quiet uv==0.13.9
	$(UV) sync --frozen --inexact --all-groups --no-group vectorbt --python $(BIN)/python --quiet  # --inexact: keeps installed plug-ins
	touch $@

scanners: $(CHECKOV_VENV)/.installed

$(CHECKOV_VENV)/.installed: $(CHECKOV_REQUIREMENTS) $(VENV)/.installed
	test -x $(CHECKOV_VENV)/bin/python || $(UV) venv --quiet --python $(PYTHON) $(CHECKOV_VENV)
	$(UV) pip sync --quiet --require-hashes --python $(CHECKOV_VENV)/bin/python $(CHECKOV_REQUIREMENTS)
	touch $@

# The web console (console/, TypeScript + Vite): npm ci from the committed lockfile, then a
# build into console/dist, which `redfire dev` serves under the API's port at /console/.
CONSOLE_SOURCES := $(wildcard console/src/*) console/index.html console/vite.config.ts \
	console/tsconfig.json console/package.json

console: console/dist/index.html

console/node_modules/.installed: console/package-lock.json
	cd console && npm ci --no-audit --no-fund
	touch $@

console/dist/index.html: console/node_modules/.installed $(CONSOLE_SOURCES)
	cd console && npm run build

# The chart script `redfire backtest --plot` inlines; committed, so rebuilt only by hand
# after a change to console/src/charts.ts or report.ts.
console-report: console/node_modules/.installed
	cd console && npm run build:report

# The browser tests drive Debian's chromium (Playwright's own download is unreachable).
chromium:
	@command -v chromium >/dev/null || { \
	  echo "chromium is missing (browser tests): installing it with apt-get"; \
	  apt-get install -y chromium || { apt-get update && apt-get install -y chromium; } \
	  || { echo "cannot install chromium: run 'apt-get install -y chromium' as root" >&2; exit 1; }; }

dev: install console
	$(BIN)/redfire dev

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

test: lint scanners console chromium
	$(TEST_ENV) $(BIN)/pytest -q --durations=15

unit: install
	$(TEST_ENV) $(BIN)/pytest -q tests/unit tests/contract

integration: install
	$(TEST_ENV) $(BIN)/pytest -q tests/integration

e2e: install console chromium
	$(TEST_ENV) $(BIN)/pytest -q tests/e2e

infra: install scanners
	$(TEST_ENV) $(BIN)/pytest -q tests/infra

bench: install console
	$(BIN)/python -m benchmarks

synth: install
	npx --yes aws-cdk@2 synth -c stage=$(STAGE) --quiet

schemas: install
	$(BIN)/redfire schemas

# The declaration's tables, events and diagram in docs/architecture.md and README.md.
docs: install
	$(BIN)/redfire docs

clean:
	rm -rf cdk.out .build .pytest_cache .mypy_cache .ruff_cache console/dist
