# One-command set-up and test. Every target installs what it needs and is idempotent: a second
# run reuses the environments (stamp files record what was installed from which lock file).
SHELL := /bin/bash
.DEFAULT_GOAL := help
PYTHON ?= python3
VENV := .venv
BVENV := .venv-brownie
AVENV := .venv-audit
# uv installs the locked packages into the three venvs (pip took 2 of the 3.5 set-up minutes
# of a fresh clone here, one core busy; uv: 6 s). Pinned, in a folder of its own.
UVENV := .venv-uv
UV := $(UVENV)/bin/uv
UV_PIN := uv==0.13.9
# The installs do not byte-compile (compiling all of torch costs half a minute of CPU): Python
# writes each module's .pyc the first time a process imports it, as it does by default. A
# PYTHONDONTWRITEBYTECODE in the caller's environment (some CI images set it) would make every
# process compile every module it imports, again: make's recipes run without it.
unexport PYTHONDONTWRITEBYTECODE
# The platform binary, not npm's node_modules/.bin/forge: that wrapper (bin.mjs of
# @foundry-rs/forge 1.7.1) never passes the binary's exit status on, so failing tests exited 0.
# Expanded when a recipe runs (after npm has installed the platform package on a fresh clone).
FORGE = $(firstword $(wildcard $(CURDIR)/node_modules/@foundry-rs/forge-*/bin/forge) \
  $(CURDIR)/node_modules/.bin/forge)
# Slither and halmos drive forge (and forge drives chain/solc.js): both need it on PATH.
AUDIT_ENV := PATH=$(CURDIR)/node_modules/.bin:$$PATH
BHOME := $(CURDIR)/.brownie-home
BROWNIE_ENV := HOME=$(BHOME) SOLCX_BINARY_PATH=$(BHOME)/solcx PATH=$(CURDIR)/node_modules/.bin:$$PATH
BROWNIE_SO := $(BVENV)/lib/python3.11/site-packages/brownie/test
# Brownie starts its anvil on the port of its network config and attaches to whatever already
# listens there, so two runs on one port drive one chain (each reverting the other's snapshots):
# every brownie run takes a free port first, like the app suite's nodes.
FREE_PORT = $(shell $(PYTHON) -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
BROWNIE_ON_FREE_PORT = $(BROWNIE_ENV) $(BVENV)/bin/brownie networks modify development port=$(FREE_PORT) >/dev/null

.PHONY: help setup demo soak test test-app test-contracts test-foundry audit audit-foundry audit-slither \
  audit-halmos lint compile clean dapp

help:
	@echo "make demo   set everything up and run the main job (enerwise demo)"
	@echo "make test   set everything up and run every test suite"
	@echo "make audit  the auditors' suites deep: brownie with coverage and gas, Foundry invariants"
	@echo "            (>= 100,000 calls each) and coverage, Slither against its triage, halmos"
	@echo "make soak   chaos soak: >= 50 faults of every kind on its own services, then the proof"
	@echo "make lint   ruff and mypy"

setup: node_modules/.stamp $(VENV)/.stamp $(BVENV)/.stamp build/compile-cache.json dapp

node_modules/.stamp: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

# pip's --target needs no venv (seconds); a Python without a pip of its own (Debian's python3
# without python3-pip) gets a small venv for uv instead.
$(UV):
	$(PYTHON) -m pip install -q --no-compile --target $(UVENV) '$(UV_PIN)' || \
	  { rm -rf $(UVENV) && $(PYTHON) -m venv $(UVENV) && $(UVENV)/bin/pip install -q '$(UV_PIN)'; }

$(VENV)/.stamp: pyproject.toml requirements/app.lock | $(UV)
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	@# torch first, pinned, by pip: where the machine holds a CPU wheel of it (pip's find-links),
	@# pip takes that one; uv would not look there and fetch the registry's CUDA build (GBs).
	$(VENV)/bin/pip install -q --no-compile -c requirements/app.lock 'torch==2.13.0'
	@# The rest by uv ([dev] pulls every extra); the installed torch satisfies the lock's pin.
	$(UV) pip install -q --python $(VENV)/bin/python -c requirements/app.lock -e '.[dev]'
	@touch $@

# eth-brownie pins web3 7 and more with ==: it cannot share the app's venv.
$(BVENV)/.stamp: requirements/brownie.lock | $(UV)
	test -x $(BVENV)/bin/python || $(PYTHON) -m venv $(BVENV)
	$(UV) pip install -q --python $(BVENV)/bin/python -r requirements/brownie.lock
	@# brownie 1.22.2's mypyc builds of these modules break coverage and stateful tests:
	@# load the shipped .py sources instead (ENVIRONMENT.md, brownie workaround 1).
	for m in coverage output stateful; do \
	  so=$(BROWNIE_SO)/$$m.cpython-311-x86_64-linux-gnu.so; \
	  if [ -f $$so ]; then mv $$so $$so.disabled; fi; \
	done
	mkdir -p $(BHOME)/solcx build/brownie
	ln -sf $(CURDIR)/chain/solc.js $(BHOME)/solcx/solc-v0.8.37
	$(BROWNIE_ENV) $(BVENV)/bin/brownie networks modify development \
	  steps_tracing=true gas_limit=30000000 >/dev/null
	@touch $@

# Slither and halmos pin web3 7 / eth-abi 6 / z3 through their dependencies: their own venv.
$(AVENV)/.stamp: requirements/audit.lock | $(UV)
	test -x $(AVENV)/bin/python || $(PYTHON) -m venv $(AVENV)
	$(UV) pip install -q --python $(AVENV)/bin/python -r requirements/audit.lock
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
DAPP_ABIS := $(wildcard $(addprefix build/contracts/,EnergyMarket.json EnergyToken.json MeterRegistry.json TestEuro.json SealedEnergyMarket.json))

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

soak: setup  ## chaos soak: a day with >= 50 faults of every kind, then proof nothing was lost
	$(VENV)/bin/enerwise soak --hours 24 --seed 1 --faults-per-kind 50 --pace-seconds 2

# The three suites run side by side: they share no port (brownie's node and the app suite's nodes
# and servers take free ports; forge runs in process), no database (the
# app suite makes a PostgreSQL database of its own per session) and no build folder (the app's
# build/contracts is made once by setup and only read; brownie writes build/brownie, forge
# build/forge). Each suite's output is printed whole when it ends (-Otarget); -k lets every
# suite finish and report even when another fails.
# Each suite starts as soon as its own inputs are made, not after the whole set-up: forge needs
# only npm's tree, brownie its venv and the compiled contracts (it deploys some from
# build/contracts), the app suite everything (the dApp for its browser tests). Set-up is mostly
# one chain of single-core steps (venv, torch, compile, dApp build); forge's and brownie's
# compiles fill the other core meanwhile. Every edge between them is a prerequisite.
test:
	$(MAKE) --no-print-directory -j4 -k -Otarget test-app test-contracts test-foundry

# The app suite mostly waits (on anvil, databases, subprocesses): spread over worker processes,
# a test file each at a time (`loadfile`: a file's module fixtures are built once and its tests
# run in their order), the files in the order of LONGEST_FILES_FIRST (tests/conftest.py), not
# sorted by their number of tests as pytest-xdist would. Every test starts its own anvil on a
# free port and its own databases.
# Niced: beside it in `make test`, brownie is one process and can use no more than one core; it
# keeps that core and ends first, then the app suite's workers have both (docs/auditors.md).
TEST_WORKERS ?= 3
test-app: setup
	nice -n 10 $(VENV)/bin/pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

test-contracts: $(BVENV)/.stamp node_modules/.stamp build/compile-cache.json
	$(BROWNIE_ON_FREE_PORT)
	$(BROWNIE_ENV) $(BVENV)/bin/brownie test tests/contracts -c tests/contracts/pytest.ini

# The Foundry suite, shallow (foundry.toml default profile): fuzz tests at 256 runs, invariants at
# 20 runs x 150 calls = 3,000 calls each. Niced like the app suite: in `make test` it starts
# during set-up, whose chain of steps the other suites wait for.
test-foundry: node_modules/.stamp
	nice -n 10 $(FORGE) test

audit: setup $(AVENV)/.stamp
	rm -f build/brownie/tests.json
	$(BROWNIE_ON_FREE_PORT)
	STATEFUL_EXAMPLES=150 STATEFUL_STEPS=100 $(BROWNIE_ENV) $(BVENV)/bin/brownie test tests/contracts \
	  -c tests/contracts/pytest.ini --coverage --gas
	$(MAKE) --no-print-directory audit-foundry
	$(MAKE) --no-print-directory audit-slither
	$(MAKE) --no-print-directory audit-halmos

# Deep (FOUNDRY_PROFILE=audit): fuzz tests at 10,000 runs, invariants at >= 100,000 calls each;
# then forge coverage of contracts/ (shallow profile) in reports/forge-coverage.txt and lcov.
audit-foundry: node_modules/.stamp
	FOUNDRY_PROFILE=audit $(FORGE) test
	mkdir -p reports
	@# Not `| tee`: the pipeline's status would be tee's, and a coverage run that fails (a compile
	@# error without the optimizer, as PoolClearing's Stack too deep once was) would pass the audit.
	$(FORGE) coverage --report summary --report lcov --report-file reports/forge-lcov.info \
	  --no-match-coverage 'tests/|contracts/test/|node_modules/' > reports/forge-coverage.txt 2>&1; \
	  status=$$?; cat reports/forge-coverage.txt; exit $$status

# Slither on contracts/ (test helpers and dependencies left out), every finding checked against
# the reviewed triage (audit/slither-triage.json, explained in docs/contracts.md section 14): a
# new finding fails the audit. Slither exits non-zero whenever it finds anything; the gate decides.
audit-slither: node_modules/.stamp $(AVENV)/.stamp
	mkdir -p reports
	rm -f reports/slither.json
	$(AUDIT_ENV) $(AVENV)/bin/slither . --compile-force-framework foundry \
	  --foundry-out-directory build/forge/out --exclude-dependencies \
	  --filter-paths 'contracts/test/|tests/foundry/|node_modules/' --json reports/slither.json \
	  > reports/slither.txt 2>&1 || true
	$(AVENV)/bin/python audit/slither_gate.py reports/slither.json audit/slither-triage.json docs/contracts.md

# halmos: the symbolic check_* functions of tests/foundry/symbolic (the clearing rule on bounded books).
audit-halmos: node_modules/.stamp $(AVENV)/.stamp
	$(AUDIT_ENV) $(AVENV)/bin/halmos --forge-build-out build/forge/out --contract ClearingRuleSymbolic \
	  --function check_ --loop 8 --solver-timeout-assertion 0

lint: $(VENV)/.stamp
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

clean:
	rm -rf build reports .run .brownie-home
