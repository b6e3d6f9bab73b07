# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run once demo check test lint typecheck lock readme clean image image-test

$(STAMP): pyproject.toml requirements.lock requirements-dev.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

run: $(STAMP)  ## run the service on config/ with SQLite in state/
	$(BIN)/monitor run

once: $(STAMP)  ## poll every feed once, deliver, exit
	$(BIN)/monitor once

demo: $(STAMP)  ## offline demo: sample feeds from a local server, alerts to the console
	$(BIN)/monitor demo

check: $(STAMP)  ## validate config/
	$(BIN)/monitor check

lint: $(STAMP)
	$(BIN)/ruff check monitor tests bench .ci
	$(BIN)/ruff format --check monitor tests bench .ci

typecheck: $(STAMP)
	$(BIN)/mypy monitor

# Byte-compiled first: the tests start the service in hundreds of processes, and with
# PYTHONDONTWRITEBYTECODE=1 (set on this machine) each would compile the package again.
# Six workers on two cores: the slowest tests mostly wait (a dependency held down for 12 s,
# a feed interval to drain). They are marked `slow` and collected first (tests/conftest.py);
# handed out one at a time (--dist load --maxschedchunk 1) they start on six workers at once
# instead of queueing behind each other on one, and the short tests fill the gaps.
# Measured on this 2-core VM with PostgreSQL: 179 s at -n 4 worksteal, 167 s slow-first at
# -n 4, 143-147 s slow-first at -n 6 (three runs), 170 s with one core kept busy.
test: lint typecheck  ## lint, type-check and run the whole test suite
	$(BIN)/python -m compileall -q monitor
	$(BIN)/pytest -q -n 6 --dist load --maxschedchunk 1

image:  ## build the container image news-monitor:latest (docker if a daemon answers, else podman)
	bash .ci/image-build

image-test: $(STAMP)  ## build the image and smoke-test it in containers (lists every check)
	bash .ci/image-test

lock:  ## re-resolve both lock files from pyproject.toml (needs uv: pip install uv)
	uv pip compile pyproject.toml --python-version 3.11 -o requirements.lock
	uv pip compile pyproject.toml --extra dev --python-version 3.11 -c requirements.lock -o requirements-dev.lock

readme: $(STAMP)  ## rewrite the README's environment table from the settings model
	$(BIN)/python .ci/readme_env.py

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
