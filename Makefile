# beyond-adoption: `make run` (set up, then one simulation), `make test` (set up, then the tests).
# Set-up finds a Python >= 3.12 by itself (scripts/find-python); override with PYTHON=/path.
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup run test lint bench clean dashboard export

setup: $(STAMP)

$(STAMP): pyproject.toml setup.py scripts/find-python
	@py=$$(scripts/find-python) || exit 1; \
	  echo "using $$py ($$($$py --version))"; \
	  [ -x $(BIN)/python ] || $$py -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/python -m sim $(ARGS)

test: $(STAMP)
	$(BIN)/python -m pytest -q $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	$(BIN)/python -m experiments.benchmark $(ARGS)

# The workshop page on http://127.0.0.1:8765/ (ARGS="--port 9000" to move it).
dashboard: $(STAMP)
	$(BIN)/python -m sim.dashboard $(ARGS)

# A run to an animated GIF and PNG stills, e.g. ARGS="--scenario mandate --stills 13 52 104".
export: $(STAMP)
	$(BIN)/python -m sim.dashboard.export $(ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
