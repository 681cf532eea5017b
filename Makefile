# One-command set-up and test. Every target installs what it needs and is idempotent: a second
# run reuses the environments (stamp files record what was installed from which lock file).
SHELL := /bin/bash
.DEFAULT_GOAL := help
PYTHON ?= python3
VENV := .venv
BVENV := .venv-brownie
BHOME := $(CURDIR)/.brownie-home
BROWNIE_ENV := HOME=$(BHOME) SOLCX_BINARY_PATH=$(BHOME)/solcx PATH=$(CURDIR)/node_modules/.bin:$$PATH
BROWNIE_SO := $(BVENV)/lib/python3.11/site-packages/brownie/test

.PHONY: help setup demo test test-app test-contracts audit lint compile clean dapp

help:
	@echo "make demo   set everything up and run the main job (enerwise demo)"
	@echo "make test   set everything up and run every test suite"
	@echo "make audit  the auditors' contract suite with coverage and gas reports"
	@echo "make lint   ruff and mypy"

setup: node_modules/.stamp $(VENV)/.stamp $(BVENV)/.stamp build/compile-cache.json dapp

node_modules/.stamp: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

$(VENV)/.stamp: pyproject.toml requirements/app.lock
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	@# torch first, pinned (a CPU wheel where the machine holds one); [dev] pulls every extra.
	$(VENV)/bin/pip install -q -c requirements/app.lock 'torch==2.13.0'
	$(VENV)/bin/pip install -q -c requirements/app.lock -e '.[dev]'
	@touch $@

# eth-brownie pins web3 7 and more with ==: it cannot share the app's venv.
$(BVENV)/.stamp: requirements/brownie.lock
	test -x $(BVENV)/bin/python || $(PYTHON) -m venv $(BVENV)
	$(BVENV)/bin/pip install -q --upgrade pip
	$(BVENV)/bin/pip install -q -r requirements/brownie.lock
	@# brownie 1.22.2's mypyc builds of these modules break coverage and stateful tests:
	@# load the shipped .py sources instead (ENVIRONMENT.md, brownie workaround 1).
	for m in coverage output stateful; do \
	  so=$(BROWNIE_SO)/$$m.cpython-311-x86_64-linux-gnu.so; \
	  if [ -f $$so ]; then mv $$so $$so.disabled; fi; \
	done
	mkdir -p $(BHOME)/solcx build/brownie
	ln -sf $(CURDIR)/chain/solc.js $(BHOME)/solcx/solc-v0.8.37
	$(BROWNIE_ENV) $(BVENV)/bin/brownie networks modify development \
	  steps_tracing=true gas_limit=30000000 port=18545 >/dev/null
	@touch $@

build/compile-cache.json: $(VENV)/.stamp node_modules/.stamp $(shell find contracts -name '*.sol' 2>/dev/null)
	$(VENV)/bin/enerwise chain compile

# The web dApp: its own npm tree (dapp/package-lock.json), ABIs generated from build/contracts,
# API types from build/openapi.json (dumped from the FastAPI app, no server), a static export in
# dapp/out that `enerwise indexer serve` serves at /.
DAPP_SRC := $(shell find dapp/src dapp/scripts -type f -not -path 'dapp/src/generated/*' 2>/dev/null) \
  dapp/next.config.ts dapp/tsconfig.json dapp/postcss.config.mjs

dapp: dapp/out/index.html

dapp/node_modules/.stamp: dapp/package.json dapp/package-lock.json
	cd dapp && npm ci --no-audit --no-fund
	@touch $@

# The artifacts (not the compile stamp, which is remade on every run) decide a rebuild.
DAPP_ABIS := $(wildcard $(addprefix build/contracts/,EnergyMarket.json EnergyToken.json MeterRegistry.json TestEuro.json))

API_SRC := $(shell find indexer/api -name '*.py' 2>/dev/null) indexer/market_info.py

build/openapi.json: $(VENV)/.stamp $(API_SRC)
	$(VENV)/bin/enerwise indexer openapi --output $@
	@touch $@

dapp/out/index.html: dapp/node_modules/.stamp $(DAPP_SRC) $(DAPP_ABIS) build/openapi.json | build/compile-cache.json
	cd dapp && NEXT_TELEMETRY_DISABLED=1 npm run build
	@touch $@

compile: $(VENV)/.stamp node_modules/.stamp
	$(VENV)/bin/enerwise chain compile

demo: setup
	$(VENV)/bin/enerwise demo

test: setup
	$(MAKE) --no-print-directory test-app
	$(MAKE) --no-print-directory test-contracts

test-app: setup
	$(VENV)/bin/pytest

test-contracts: setup
	$(BROWNIE_ENV) $(BVENV)/bin/brownie test tests/contracts -c tests/contracts/pytest.ini

audit: setup
	rm -f build/brownie/tests.json
	$(BROWNIE_ENV) $(BVENV)/bin/brownie test tests/contracts -c tests/contracts/pytest.ini --coverage --gas

lint: $(VENV)/.stamp
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

clean:
	rm -rf build reports .run .brownie-home
