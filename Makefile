# Two commands do everything on a fresh machine:
#   make run    set up the virtual environment, build the Rust extension, serve the demo on :8080
#   make test   the same set-up, then clippy, cargo test, pytest (both parser backends) and a
#               short fuzz run

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip
HOST   ?= 127.0.0.1
PORT   ?= 8080

.PHONY: run test setup build cargo-test cargo-lint pytest case-table bench-parser bench-trickle clean system-deps

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

# Tools the tests use from the system: curl for the curl tests, strace to show file bodies go
# out with sendfile(2), setpriv (util-linux) to run a server as an unprivileged user,
# systemd-socket-activate (systemd) for socket activation, nss_wrapper (libnss-wrapper) so
# that "localhost" resolves to both 127.0.0.1 and ::1 whatever /etc/hosts says, nginx to run
# wirespeed behind a real reverse proxy, openssl to make the TLS tests' certificates and to talk
# to the server with s_client, and haproxy to send the PROXY protocol header
# (tests/test_proxy_haproxy.py).
system-deps:
	@missing=""; \
	for tool in curl strace setpriv openssl systemd-socket-activate; do command -v $$tool >/dev/null 2>&1 || missing="$$missing $$tool"; done; \
	ls /usr/lib/*/libnss_wrapper.so >/dev/null 2>&1 || missing="$$missing libnss-wrapper"; \
	{ command -v nginx || test -x /usr/sbin/nginx; } >/dev/null 2>&1 || missing="$$missing nginx"; \
	{ command -v haproxy || test -x /usr/sbin/haproxy; } >/dev/null 2>&1 || missing="$$missing haproxy"; \
	if [ -n "$$missing" ]; then \
		echo "installing$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$(echo $$missing | sed 's/setpriv/util-linux/; s/systemd-socket-activate/systemd/') >/dev/null; \
	fi

# APP: the app to serve instead of the demo, e.g. make run APP=wirespeed.demo_asgi:app (FastAPI)
APP    ?=

run: setup
	$(VENV)/bin/wirespeed $(APP) --host $(HOST) --port $(PORT)

cargo-test:
	cargo test --quiet

# tests/parser_cases.json, the parser case table as data for cargo test, written again from
# tests/parser_cases.py and tests/attack_cases.py after a row changes (pytest fails until then).
case-table: | $(PY)
	$(PY) tests/case_table.py

# The Rust code stays warning-free under clippy (and its deny lints in Cargo.toml) and formatted.
cargo-lint:
	cargo clippy --quiet --all-targets -- -D warnings
	cargo fmt --check

pytest: setup system-deps
	$(PY) -m pytest -q

test: setup system-deps cargo-lint cargo-test pytest fuzz-smoke

bench-parser: setup
	$(PY) benches/bench_parser.py

bench-trickle: setup
	$(PY) benches/bench_trickle.py
	$(PY) benches/bench_trickle.py --parser rust

# The README's Dockerfile and systemd units, tried for real (tests/deploy/): a wheel of this tree
# is installed into the image and run, and into a container that boots systemd, where the units
# are enabled and socket activation starts the service. Needs a running Docker engine and the
# image debian:bookworm-slim (pulled, or made from Debian's packages by tests/deploy/debian_base.sh).
.PHONY: deploy-check
deploy-check: $(VENV)/bin/maturin
	rm -rf target/deploy-wheel
	$(VENV)/bin/maturin build --release --quiet --out target/deploy-wheel
	bash tests/deploy/docker_check.sh target/deploy-wheel/wirespeed-*.whl
	bash tests/deploy/systemd_check.sh target/deploy-wheel/wirespeed-*.whl

clean:
	rm -rf $(VENV) $(REDBOT_VENV) target .pytest_cache .hypothesis

# --- benchmarks (benches/; results in benches/RESULTS.md) -----------------------------------------
#   make bench            wirespeed side by side with nginx, socketify, granian, uvicorn and a uvloop
#                         limit: 6 workloads, 2 interleaved rounds x 10 s, medians; the static-file
#                         workloads (static-4k, static-1m: nginx, granian, wirespeed with and without its
#                         small-file cache) are timed for 4 s; then wirespeed's ASGI mode (wirespeed-asgi)
#                         against uvicorn and granian --interface asgi serving the same ASGI app:
#                         asgi-plaintext, asgi-pipelined, fastapi-json. Only those three:
#                         make bench SERVERS=wirespeed-asgi,uvicorn,granian \
#                                    WORKLOADS=asgi-plaintext,asgi-pipelined,fastapi-json
#                         WebSockets: ws-echo (32-byte text messages, 64 connections x 16 in flight)
#                         and ws-1m (1 MiB binary messages) echoed by wirespeed, wirespeed-asgi,
#                         uvicorn (--ws websockets) and granian (asgi), and by ws-limit (a uvloop TCP
#                         echo of the same bytes, their reference), timed for 5 s each, the load from
#                         benches/ws_load.py (its own CPU use reported). Only those:
#                         make bench WORKLOADS=ws-echo,ws-1m SERVERS=wirespeed,wirespeed-asgi,uvicorn,granian
#                         TLS: tls-plaintext, the plaintext app over TLS 1.3 (keep-alive) from wirespeed
#                         and nginx with the same certificate (made by openssl at run time) and the same
#                         version and cipher suite (checked before timing). Only that, as a ratio:
#                         make bench WORKLOADS=tls-plaintext SERVERS=wirespeed,nginx
#                         The access log's cost (on, written to a file, against off), as a ratio:
#                         make bench WORKLOADS=plaintext SERVERS=wirespeed,wirespeed-accesslog
#   make bench QUICK=1    one round of 3 s per workload
#                         knobs: ROUNDS= DURATION= STATIC_DURATION= WS_DURATION= SERVERS=a,b WORKLOADS=a,b SERVER_CPUS=0
#                         CLIENT_CPUS=1 WAIT_QUIET=60 (on a shared machine: wait up to 60 s in all for
#                         other load to stop)
#   make bench-memory     RSS growth with 10,000 idle keep-alive connections (wirespeed, uvicorn) and
#                         RSS drift over 1,000,000 requests (wirespeed); QUICK=1: 1,000 and 100,000
#   make bench-smoke      both in their quickest mode, a few seconds per workload (CI; no numbers asserted)
#   make bench-instructions  instructions per request on the Python side (callgrind; valgrind from Debian)
#   make bench-asgi-profile  how much of a FastAPI request (fastapi-json) is wirespeed-asgi's and how much
#                         the app's: py-spy samples the server under wrk for 10 s (benches/profile_asgi.py;
#                         PROFILE_SERVER=uvicorn for the same split under uvicorn)
#   make redbot           REDbot (redbot.org, in its own venv .venv-redbot) on `wirespeed --static`: prints
#                         its notes, fails on a bad one about Content-Length, validation or ranges
# Each target installs what it needs: nginx, its echo module, wrk, openssl and libuv from Debian's packages,
# the `bench` extra of pyproject.toml into the venv, and wirespeed built in release mode.

.PHONY: bench bench-paired bench-memory bench-smoke bench-setup bench-system-deps bench-instructions bench-asgi-profile redbot

BENCH_FLAGS = $(if $(filter-out 0,$(QUICK)),--quick) $(if $(ROUNDS),--rounds $(ROUNDS)) \
	$(if $(DURATION),--duration $(DURATION)) $(if $(STATIC_DURATION),--static-duration $(STATIC_DURATION)) \
	$(if $(WS_DURATION),--ws-duration $(WS_DURATION)) \
	$(if $(SERVERS),--servers $(SERVERS)) \
	$(if $(WORKLOADS),--workloads $(WORKLOADS)) $(if $(SERVER_CPUS),--server-cpus $(SERVER_CPUS)) \
	$(if $(CLIENT_CPUS),--client-cpus $(CLIENT_CPUS)) $(if $(WAIT_QUIET),--wait-quiet $(WAIT_QUIET))
BENCH_MEMORY_FLAGS = $(if $(filter-out 0,$(QUICK)),--quick) \
	$(if $(SERVER_CPUS),--server-cpus $(SERVER_CPUS)) $(if $(CLIENT_CPUS),--client-cpus $(CLIENT_CPUS))

bench-system-deps:
	@missing=""; \
	{ command -v nginx || test -x /usr/sbin/nginx; } >/dev/null 2>&1 || missing="$$missing nginx-light"; \
	test -e /usr/lib/nginx/modules/ngx_http_echo_module.so || missing="$$missing libnginx-mod-http-echo"; \
	command -v wrk >/dev/null 2>&1 || missing="$$missing wrk"; \
	command -v openssl >/dev/null 2>&1 || missing="$$missing openssl"; \
	command -v taskset >/dev/null 2>&1 || missing="$$missing util-linux"; \
	ls /usr/lib/*/libuv.so.1 /usr/lib/libuv.so.1 2>/dev/null | grep -q . || missing="$$missing libuv1"; \
	if [ -n "$$missing" ]; then \
		echo "installing from Debian:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

bench-setup: build bench-system-deps
	$(PY) benches/setup_deps.py

bench: bench-setup
	$(PY) benches/run.py $(BENCH_FLAGS)

# Two servers timed in turn, in short paired runs (benches/paired.py): A, B, WORKLOAD, PAIRS.
bench-paired: bench-setup
	$(PY) benches/paired.py $(or $(A),wirespeed) $(or $(B),wirespeed-accesslog) --workload $(or $(WORKLOAD),plaintext) \
		$(if $(PAIRS),--pairs $(PAIRS)) $(if $(SERVER_CPUS),--server-cpus $(SERVER_CPUS)) \
		$(if $(CLIENT_CPUS),--client-cpus $(CLIENT_CPUS))

bench-memory: bench-setup
	$(PY) benches/bench_memory.py $(BENCH_MEMORY_FLAGS)

bench-smoke: bench-setup
	$(PY) benches/run.py --quick --duration 2 --warmup 1
	$(PY) benches/paired.py wirespeed wirespeed-accesslog --pairs 2 --duration 1 --warmup 1 \
		--out $${TMPDIR:-/tmp}/wirespeed-bench-smoke
	$(PY) benches/bench_memory.py --quick

bench-asgi-profile: bench-setup
	$(PY) benches/profile_asgi.py $(if $(PROFILE_SERVER),--server $(PROFILE_SERVER)) \
		$(if $(SERVER_CPUS),--server-cpus $(SERVER_CPUS)) $(if $(CLIENT_CPUS),--client-cpus $(CLIENT_CPUS))

bench-instructions: setup
	@command -v valgrind >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq valgrind >/dev/null; }
	$(PY) benches/count_instructions.py

# REDbot and its dependencies stay out of the project's venv. Pinned: its notes change between
# releases (most come from httplint).
REDBOT_VENV ?= .venv-redbot
REDBOT_PINS ?= redbot==2.7.1 httplint==2026.10.4

$(REDBOT_VENV)/bin/python:
	$(PYTHON) -m venv $(REDBOT_VENV)
	$(REDBOT_VENV)/bin/pip install --quiet --upgrade pip

redbot: setup $(REDBOT_VENV)/bin/python
	$(REDBOT_VENV)/bin/pip install --quiet --disable-pip-version-check $(REDBOT_PINS)
	$(PY) benches/redbot_check.py --redbot-python $(REDBOT_VENV)/bin/python

# --- fuzzing (rust/fuzz/: libFuzzer targets of the Rust parser and WebSocket readers) --------------
#   make fuzz         each Rust fuzz target for FUZZ_SECONDS (libFuzzer -max_total_time), then the
#                     Python protocol fuzz (tests/test_protocol_fuzz.py) with FUZZ_EXAMPLES examples
#   make fuzz-smoke   each Rust fuzz target for FUZZ_SMOKE_SECONDS, the WebSocket ones (ws_*)
#                     for FUZZ_WS_SMOKE_SECONDS, proxy_protocol for FUZZ_PROXY_SMOKE_SECONDS
#                     (for `make test`)
# Targets: feed (Parser::feed whole, in pieces and byte by byte must agree, and obey the event
# contract), scanners (the scanners under it against plain references), ws_frames (the
# WebSocket FrameReader whole, in pieces and byte by byte; frames round-trip) and ws_reader
# (Reader, the WebSocket reader the server uses, plain and streaming: whole, in pieces and byte
# by byte must agree, obey the event contract, and agree with FrameReader + MessageReader) and
# proxy_protocol (the PROXY protocol header parser: its verdicts on every prefix hang together,
# a complete header's bytes alone give the same verdict, addresses read back as themselves).
# Corpora start from the test tables and frames built there (rust/fuzz/seed_corpus.py) and
# grow in target/fuzz-corpus/<target>; each run's full libFuzzer output is in
# target/fuzz-logs/<target>.log, its final stats are printed. A crash or oracle failure fails
# the run and leaves the input in rust/fuzz/artifacts/<target>/ (then
# `cargo +nightly fuzz tmin --fuzz-dir rust/fuzz <target> <file>` minimises it).
# Needs the nightly toolchain and cargo-fuzz; both are installed when missing. Pinned to CPU
# FUZZ_CPU with taskset when there is one (the benchmarks use CPU 0). FUZZ_SANITIZER=address
# adds ASan (7x slower; the fuzzed crate has no unsafe code, only httparse and std do).

.PHONY: fuzz fuzz-smoke fuzz-setup

FUZZ_SECONDS       ?= 300
FUZZ_SMOKE_SECONDS ?= 20
# The two WebSocket targets share one target's time in the smoke.
FUZZ_WS_SMOKE_SECONDS ?= 10
# The PROXY header parser is small: a few seconds cover it in the smoke.
FUZZ_PROXY_SMOKE_SECONDS ?= 5
FUZZ_EXAMPLES      ?= 20000
FUZZ_TARGETS       ?= feed scanners ws_frames ws_reader proxy_protocol
FUZZ_SANITIZER     ?= none
FUZZ_CPU           ?= 1
FUZZ_PIN           := $(shell command -v taskset >/dev/null 2>&1 && [ "$$(nproc)" -gt $(FUZZ_CPU) ] && echo taskset -c $(FUZZ_CPU))
# --debug-assertions: overflow checks and debug_assert! are on, so an overflow is a crash.
FUZZ_BUILD_FLAGS    = --fuzz-dir rust/fuzz --debug-assertions --sanitizer $(FUZZ_SANITIZER)
FUZZ_RUN_FLAGS      = -max_len=4096 -dict=rust/fuzz/http.dict -print_final_stats=1

# Runs every target of FUZZ_TARGETS for $(1) seconds, the WebSocket ones (ws_*) for $(2),
# proxy_protocol for $(3).
define run_fuzz_targets
	@mkdir -p target/fuzz-logs
	@for t in $(FUZZ_TARGETS); do \
		log=target/fuzz-logs/$$t.log; \
		case $$t in ws_*) seconds=$(2);; proxy_protocol) seconds=$(3);; *) seconds=$(1);; esac; \
		echo "fuzz: $$t for $$seconds s (log: $$log)"; \
		if $(FUZZ_PIN) cargo +nightly fuzz run $(FUZZ_BUILD_FLAGS) $$t target/fuzz-corpus/$$t -- \
			-max_total_time=$$seconds $(FUZZ_RUN_FLAGS) >$$log 2>&1; then \
			grep -E '^#[0-9]+[[:space:]]+DONE|^Done [0-9]+ runs|^stat::' $$log; \
		else \
			tail -n 60 $$log; \
			echo "fuzz: $$t FAILED: see $$log and rust/fuzz/artifacts/$$t/"; \
			exit 1; \
		fi; \
	done
endef

# The venv (pytest, for the seeds' test tables), nightly, cargo-fuzz and the seed corpora.
fuzz-setup: setup
	@cargo +nightly --version >/dev/null 2>&1 || { \
		echo "installing the nightly toolchain"; rustup toolchain install nightly --profile minimal; }
	@cargo fuzz --version >/dev/null 2>&1 || { \
		echo "installing cargo-fuzz"; cargo install cargo-fuzz --locked; }
	@for t in $(FUZZ_TARGETS); do $(PY) rust/fuzz/seed_corpus.py --target $$t || exit 1; done

fuzz: fuzz-setup
	$(call run_fuzz_targets,$(FUZZ_SECONDS),$(FUZZ_SECONDS),$(FUZZ_SECONDS))
	WIRESPEED_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(PY) -m pytest -q tests/test_protocol_fuzz.py

fuzz-smoke: fuzz-setup
	$(call run_fuzz_targets,$(FUZZ_SMOKE_SECONDS),$(FUZZ_WS_SMOKE_SECONDS),$(FUZZ_PROXY_SMOKE_SECONDS))

# --- packages ---------------------------------------------------------------------------------------
#   make wheel        the abi3 wheel of this platform (maturin, release) in target/wheels/, checked with
#                     twine, installed into a fresh venv and serving a request from there
#   make sdist-check  the sdist in target/wheels/, installed into a fresh venv with pip (which compiles the
#                     Rust extension with this machine's toolchain: a few minutes), serving a request
# twine comes from PyPI into a venv of its own; the fresh venvs are in target/packaging/.

.PHONY: wheel sdist-check

DIST          ?= target/wheels
PACKAGING     := target/packaging
PACKAGING_PY  := $(PACKAGING)/tools/bin/python

$(PACKAGING_PY):
	$(PYTHON) -m venv $(PACKAGING)/tools
	$(PACKAGING_PY) -m pip install --quiet --disable-pip-version-check "twine>=5"

# $(1): what to install into the fresh venv $(PACKAGING)/$(2) (with the environment $(3)); then
# it serves one request.
define install_and_serve
	rm -rf $(PACKAGING)/$(2)
	$(PYTHON) -m venv $(PACKAGING)/$(2)
	$(3) $(PACKAGING)/$(2)/bin/python -m pip install --quiet --disable-pip-version-check $(1)
	$(PYTHON) tests/deploy/serve_once.py $(PACKAGING)/$(2)/bin/wirespeed --expect-parser rust
endef

wheel: $(VENV)/bin/maturin $(PACKAGING_PY)
	rm -f $(DIST)/wirespeed-*.whl
	$(VENV)/bin/maturin build --release --quiet --out $(DIST)
	$(PACKAGING_PY) -m twine check --strict $(DIST)/wirespeed-*.whl
	$(call install_and_serve,$(DIST)/wirespeed-*.whl,wheel-venv)

# CARGO_TARGET_DIR keeps the compiled dependencies between runs; the crate itself is compiled
# from the sdist's sources every time (they are unpacked to a new folder).
sdist-check: $(VENV)/bin/maturin $(PACKAGING_PY)
	rm -f $(DIST)/wirespeed-*.tar.gz
	$(VENV)/bin/maturin sdist --out $(DIST)
	$(PACKAGING_PY) -m twine check --strict $(DIST)/wirespeed-*.tar.gz
	$(call install_and_serve,--no-cache-dir $(DIST)/wirespeed-*.tar.gz,sdist-venv,CARGO_TARGET_DIR=$(abspath $(PACKAGING))/sdist-target)
