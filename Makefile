# wattsim: two commands on a fresh machine: `make run` and `make test`.
# Python 3.11 or newer: python3.11 if present, else python3 (checked below)
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3 2>/dev/null || echo python3.11)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test bench lint docs clean install compile

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "wattsim needs Python 3.11+ ($(PYTHON) not found)"; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "wattsim needs Python 3.11+, $(PYTHON) is older"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# the hot path compiled with mypyc (sim/compiled.py, docs/engine.md): a no-op when up to date;
# without a C compiler it says so in one line and wattsim runs as plain Python, same results
compile: $(STAMP)
	$(BIN)/python tools/compile_hot_path.py

run: compile
	$(BIN)/wattsim run scenarios/baseline.yaml -o runs/baseline
	$(BIN)/wattsim report runs/baseline -o runs/baseline/report.html

test: compile
	$(BIN)/python -m pytest

bench: compile
	$(BIN)/python benchmarks/run_all.py

# the public API and the plug-in protocols, type-checked strictly
TYPED := sim/__init__.py sim/registry.py sim/paths.py sim/spec/errors.py sim/engine/contracts.py \
         sim/engine/caps.py sim/engine/record.py sim/scheduling/control_api.py sim/scheduling/control_protocol.py \
         sim/compute/power_api.py sim/scheduling/policy_api.py sim/compiled.py

lint: $(STAMP)
	$(BIN)/ruff check sim analysis tests benchmarks tools
	$(BIN)/mypy --strict $(TYPED)
	$(BIN)/mypy $$($(BIN)/python tools/compile_hot_path.py --list)  # what mypyc compiles must type-check

docs: $(STAMP)
	$(BIN)/python -m sim.results.result > docs/output-columns.md

clean:
	rm -rf runs .pytest_cache
	test ! -x $(BIN)/python || $(BIN)/python tools/compile_hot_path.py --clean
