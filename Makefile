# smsreg — the README's two commands are `make run` and `make test`; both set themselves up.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
DEVDB  := $(PY) -m smsreg.devdb run --dir .pgdata
PYTEST_ARGS ?=

.PHONY: help venv test test-faults run migrate lint typecheck rules bench clean

help:
	@echo "make run          start PostgreSQL (if needed), the SMSC simulator and the worker; show a citizen registering"
	@echo "make test         the whole suite against a real PostgreSQL (started if none answers)"
	@echo "make test-faults  slow fault-injection scenarios"
	@echo "make bench        throughput and latency benchmarks"
	@echo "make lint typecheck rules clean"

venv: $(STAMP)

$(STAMP): setup.cfg pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,dev]'
	@touch $@

test: $(STAMP)
	$(DEVDB) -- $(PY) -m pytest -m "not slow" $(PYTEST_ARGS)

test-faults: $(STAMP)
	$(DEVDB) -- $(PY) -m pytest -m slow $(PYTEST_ARGS)

run: $(STAMP)
	$(DEVDB) --database smsreg -- $(PY) -m smsreg.demo

migrate: $(STAMP)
	$(PY) -m smsreg migrate

lint: $(STAMP)
	$(VENV)/bin/ruff check smsreg tests

typecheck: $(STAMP)
	$(VENV)/bin/mypy

# make bench [SCENARIOS=replies,registrations,mixed,paced,soak] [SCALE=0.1] [BENCH_ARGS='--worker-env SMSREG_SMPP_WORKERS=8']
SCENARIOS ?= all
SCALE ?= 1
BENCH_ARGS ?=
bench: $(STAMP)
	$(DEVDB) --database smsreg_bench -- $(PY) -m smsreg.bench --scenarios $(SCENARIOS) --scale $(SCALE) $(BENCH_ARGS)

# promtool: Debian package `prometheus`; make test runs the same checks (tests/test_deploy.py).
rules:
	promtool check rules deploy/prometheus/smsreg.rules.yml
	promtool test rules deploy/prometheus/smsreg.rules.test.yml
	promtool check config deploy/prometheus/prometheus.yml

clean:
	rm -rf $(VENV) .pgdata .pytest_cache .mypy_cache .hypothesis build *.egg-info
