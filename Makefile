# sendlib: `make` lists the targets. Two commands on a fresh machine: `make reports` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
KERNEL_SPEC := $(VENV)/share/jupyter/kernels/sendlib/kernel.json
REGISTER_KERNEL := $(BIN)/python -m sendlib.reports.kernel install --sys-prefix --name sendlib --display-name "Python (sendlib)"
JOBS ?=

.DEFAULT_GOAL := help
.PHONY: help install kernel reports all-las test check lint format bench data data-check download browser clean

help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml requirements/constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements/constraints.txt -e ".[dev]"
	@touch $(STAMP)

# The kernel spec is its own target: deleted (or never registered), it is registered again by any target
# that runs notebooks, even when the stamp says the packages are installed.
$(KERNEL_SPEC): $(STAMP)
	$(REGISTER_KERNEL) >/dev/null

install: $(STAMP) ## Create .venv, install sendlib and (re-)register the `sendlib` Jupyter kernel
	$(REGISTER_KERNEL)

kernel: $(STAMP) ## Also register the `sendlib` kernel for your own JupyterLab (in ~/.local)
	$(BIN)/python -m sendlib.reports.kernel install --user --name sendlib --display-name "Python (sendlib)"

reports: $(STAMP) $(KERNEL_SPEC) ## Build outputs/index.html, the England report and the 9 regional reports
	$(BIN)/sendlib reports --all $(if $(JOBS),--jobs $(JOBS),)

all-las: $(STAMP) $(KERNEL_SPEC) ## Build a report for every local authority (outputs/las/)
	$(BIN)/sendlib reports --all-las $(if $(JOBS),--jobs $(JOBS),)

test: $(STAMP) $(KERNEL_SPEC) ## Run the tests (installs Debian's chromium for the browser check when it can)
	@scripts/ensure-chromium.sh || true
	$(BIN)/python -m pytest

lint: $(STAMP) ## ruff and the jupytext pairing check
	$(BIN)/ruff check sendlib tests benchmarks scripts notebooks
	$(BIN)/python scripts/check_pairing.py

check: lint test ## ruff, pairing check, then the tests

format: $(STAMP) ## Format the code with ruff
	$(BIN)/ruff format sendlib tests benchmarks scripts

bench: $(STAMP) $(KERNEL_SPEC) ## Time the report runner against the naive loop (prints figures)
	$(BIN)/python benchmarks/reports.py --las

data: $(STAMP) ## Rebuild data/processed from data/raw (or ../shared/reference)
	$(BIN)/sendlib data build

data-check: $(STAMP) ## Check data/processed against MANIFEST.json and print coverage
	$(BIN)/sendlib data check

download: $(STAMP) ## Download the official files into data/raw (needs internet)
	$(BIN)/sendlib data download

clean: ## Remove built reports (keeps .venv and data)
	rm -rf outputs/*.html outputs/regions outputs/las outputs/executed
