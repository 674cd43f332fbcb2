# The README's commands. Every target creates .venv from requirements.txt on first use.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.requirements-installed
RAW ?= data/raw
ARTIFACTS ?= data/artifacts
PORT ?= 8000
SCALE ?= demo
# axe-core, the accessibility rules the browser tests run on every page (npm, installed once, outside git)
AXE_CORE := .cache/node/node_modules/axe-core/axe.min.js

.PHONY: venv constraints vendor-plotly demo-data artifacts run test bench bench-scale container-test clean

$(STAMP): requirements.txt constraints.txt
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found: install Python 3.11"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt -c constraints.txt
	touch $(STAMP)

venv: $(STAMP)

## constraints: pin every installed package (transitive ones too) after requirements.txt changed
constraints:
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -r requirements.txt
	{ sed -n '1,3p' constraints.txt; $(PY) -m pip freeze --exclude-editable; } > constraints.txt.new
	mv constraints.txt.new constraints.txt

## vendor-plotly: vendor plotly.js's basic bundle (dashboard/vendor/, committed) at the plotly.js version of the
## installed plotly package, with npm; run it after upgrading plotly (a test compares the versions)
vendor-plotly: $(STAMP)
	@command -v npm >/dev/null || { echo "npm not found: install Node.js"; exit 1; }
	version=$$($(PY) -c "from plotly.offline import get_plotlyjs_version; print(get_plotlyjs_version())") && \
	npm install --silent --no-audit --no-fund --prefix .cache/node -E plotly.js-basic-dist-min@$$version && \
	rm -rf dashboard/vendor/plotly.js-basic-dist-min && \
	cp -r .cache/node/node_modules/plotly.js-basic-dist-min dashboard/vendor/

## demo-data: write the deterministic demo CSVs into data/raw (only if no data is there)
demo-data: $(STAMP)
	@if [ -f "$(RAW)/Music Info.csv" ] && [ -f "$(RAW)/User Listening History.csv" ]; then \
		echo "data present in $(RAW); not overwriting"; \
	else $(PY) -m build.demo_data --out $(RAW) --scale $(SCALE); fi

## artifacts: build the artifact set from data/raw (skips work when inputs are unchanged)
artifacts: demo-data
	$(PY) -m build.refresh --raw $(RAW) --out $(ARTIFACTS)

## run: set up, build the demo data set if needed, serve the dashboard on http://localhost:$(PORT)
run: artifacts
	ARTIFACTS_DIR=$(ARTIFACTS) PORT=$(PORT) $(VENV)/bin/gunicorn -c gunicorn.conf.py dashboard.app:server

$(AXE_CORE):
	@command -v npm >/dev/null || { echo "npm not found: install Node.js (the accessibility tests need axe-core)"; exit 1; }
	npm install --silent --no-audit --no-fund --prefix .cache/node -E axe-core@4.10.2

## test: the whole test suite (browser tests need chromium and chromium-driver, and npm for axe-core)
test: $(STAMP) $(AXE_CORE)
	$(PY) -m pytest

## bench: full-scale benchmarks (writes bench-report.md)
bench: $(STAMP)
	$(PY) -m tests.benchmarks.run

## bench-scale: how build time, memory, artifact size and query latency grow with the data, at 0.25x to 4x
## the full scale (--no-evaluate builds; writes scale-report.md and docs/scaling-curves.png; takes ~15 min)
bench-scale: $(STAMP)
	$(PY) -m tests.benchmarks.scale

## container-test: build the real image (podman here, docker elsewhere), run it, check it from outside
container-test:
	tests/container/run.sh

clean:
	rm -rf .pytest_cache .hypothesis
