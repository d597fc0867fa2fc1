# stopline: `make run` serves where .env says (STOPLINE_HOST/STOPLINE_PORT, else 127.0.0.1:8000);
# `make run PORT=8001 HOST=0.0.0.0` overrides them. `make test` runs ruff, mypy and pytest.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Reinstall only when pyproject.toml changes (the stamp is newer than it otherwise).
STAMP := $(VENV)/.stopline-installed

.PHONY: help install run test test-all lint typecheck bench mutate clean

help:
	@echo "make run    create .venv, install, migrate the ledger and serve (STOPLINE_HOST/PORT"
	@echo "           from .env; make run PORT=8001 HOST=0.0.0.0 overrides them)"
	@echo "make test   ruff, mypy and pytest"
	@echo "make test-all  the tests on every CPython >= 3.11 found (nox, one virtualenv each)"
	@echo "make lint   ruff only;  make bench   benchmarks;  make clean   remove build files"
	@echo "make mutate mutation testing of the consent decision modules (README, Development)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# -O2: durable-rules' setup.py builds its C engine without optimisation otherwise.
$(STAMP): pyproject.toml | $(BIN)/python
	CPPFLAGS=-O2 $(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(STAMP)

# Flags only for PORT/HOST given to make (its command line or environment): otherwise
# stopline serve reads STOPLINE_PORT/STOPLINE_HOST from .env and the environment itself.
SERVE_FLAGS := $(if $(PORT), --port $(PORT))$(if $(HOST), --host $(HOST))

run: install
	$(BIN)/stopline db upgrade
	exec $(BIN)/stopline serve$(SERVE_FLAGS)

lint: install
	$(BIN)/ruff check .

typecheck: install
	$(BIN)/mypy core ledger rules web bot stopline bench outbound

test: lint typecheck
	$(BIN)/pytest

# nox: one session per CPython 3.11-3.14 found (pyenv's too); an absent one is skipped with
# a printed line. `make test-all ARGS="tests/unit -x"` passes pytest arguments.
test-all: install
	$(BIN)/nox --no-error-on-missing-interpreters $(if $(ARGS),-- $(ARGS))

bench: install
	@if [ -f bench/__main__.py ]; then $(BIN)/python -m bench; \
	else echo "No benchmarks yet: bench/__main__.py does not exist (see issue 4)."; fi

# Not part of `make test`: about 15 minutes on two cores. mutants/ is built afresh each time so
# a result never comes from older code; tests/mutation_report.py prints the scores and fails
# on a survivor not explained in tests/mutation-equivalents.txt.
MUTATE_STAMP := $(VENV)/.stopline-mutation-installed
$(MUTATE_STAMP): pyproject.toml $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,mutation]'
	touch $@

# mutants/ (copies of the code, mutated) is removed at the end, whatever the verdict, so that
# nothing scanning the tree reads it as the project's own code; the report prints the diff
# of every unexplained survivor first.
mutate: $(MUTATE_STAMP)
	rm -rf mutants
	STOPLINE_MUTATION=1 $(BIN)/mutmut run --max-children $(or $(JOBS),2) > mutants.log 2>&1 \
		|| { tail -40 mutants.log; rm -rf mutants; exit 1; }
	$(BIN)/python tests/mutation_report.py; status=$$?; rm -rf mutants; exit $$status

clean:
	rm -rf build *.egg-info .mypy_cache .ruff_cache .pytest_cache .hypothesis mutants mutants.log
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +
