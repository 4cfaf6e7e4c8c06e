# Two commands do everything on a fresh machine:
#   make run    set up the virtual environment, build the Rust extension, serve the demo on :8080
#   make test   the same set-up, then cargo test and pytest (both parser backends)

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip
HOST   ?= 127.0.0.1
PORT   ?= 8080

.PHONY: run test setup build cargo-test pytest bench-parser clean system-deps

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(VENV)/bin/maturin: | $(PY)
	$(PIP) install --quiet "maturin>=1.9.4,<2"

# The Rust extension, built in release mode (incrementally) and installed into the venv with
# the package's dependencies and its test extras from pyproject.toml.
build: $(VENV)/bin/maturin
	VIRTUAL_ENV=$(abspath $(VENV)) PATH="$(abspath $(VENV))/bin:$$PATH" \
		$(VENV)/bin/maturin develop --release --quiet --extras test

setup: build

# Tools the tests use from the system: curl for the curl test.
system-deps:
	@command -v curl >/dev/null 2>&1 || { \
		echo "installing curl"; \
		apt-get update -qq && apt-get install -y -qq curl >/dev/null; }

run: setup
	$(VENV)/bin/wirespeed --host $(HOST) --port $(PORT)

cargo-test:
	cargo test --quiet

pytest: setup system-deps
	$(PY) -m pytest -q

test: setup system-deps cargo-test pytest

bench-parser: setup
	$(PY) benches/bench_parser.py

clean:
	rm -rf $(VENV) target .pytest_cache .hypothesis
