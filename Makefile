# The two commands: `make dev` runs the whole system, `make test` passes the whole suite.
# Both create .venv and install what they need.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
# The local OpenID provider (oidc-provider, on node) that `make dev` and the tests sign in with.
IDP := tests/oidc
IDP_INSTALLED := $(IDP)/node_modules/.package-lock.json
# The managers' pages' front-end files (GOV.UK Frontend; axe-core for the browser tests).
WEB := web
WEB_INSTALLED := $(WEB)/node_modules/.package-lock.json

.PHONY: dev test chromium test-faults test-awkward-days lint check-protocols docs bench clean

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[local,dev]'
	touch $@

$(IDP_INSTALLED): $(IDP)/package-lock.json
	npm ci --prefix $(IDP) --no-audit --no-fund --loglevel=error
	touch $@

$(WEB_INSTALLED): $(WEB)/package-lock.json
	npm ci --prefix $(WEB) --no-audit --no-fund --loglevel=error
	touch $@

# The browser tests drive Debian's chromium (Playwright never downloads a browser here).
chromium:
	command -v chromium >/dev/null || (apt-get update && apt-get install -y chromium)

# compileall: the worker's sandbox imports the workflow module for every transfer it starts;
# with PYTHONDONTWRITEBYTECODE set it would otherwise compile the source each time.
dev: $(INSTALLED) $(IDP_INSTALLED) $(WEB_INSTALLED)
	$(BIN)/python -m compileall -q workflows
	$(BIN)/python -m ops.prepare
	$(BIN)/honcho --procfile Procfile start

test: $(INSTALLED) $(IDP_INSTALLED) $(WEB_INSTALLED) chromium lint
	$(BIN)/pytest

# The fault suite alone (also part of `make test`): the real stack as processes, killed,
# stopped and restarted; see docs/reliability/process-faults.md.
test-faults: $(INSTALLED)
	$(BIN)/pytest tests/faults

# The time-skipping tests once per awkward "today" (the week before Christmas, Good Friday, the
# Friday before a bank-holiday Monday, both clock changes, 31 December 23:30, 00:30 BST), each
# with CASEFLOW_TEST_TODAY set: see docs/reliability/test-dates.md. ARGS="--list", "--only
# good-friday-1" or "--at 2027-05-28T16:30 -- tests/test_api.py" narrow it (~30 min in all).
test-awkward-days: $(INSTALLED)
	$(BIN)/python -m tests.awkward_days $(ARGS)

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/mypy .

# Validate every protocol file and describe its pathways in plain words (exit 1 if one is
# malformed). `ARGS=--markdown` prints the README's tables instead.
check-protocols: $(INSTALLED)
	$(BIN)/python -m ops.check_protocols $(ARGS)

# Regenerate docs/PATHWAYS.md and the README's coverage table from the protocols and registers.
docs: $(INSTALLED)
	$(BIN)/python -m ops.write_docs

# Benchmark against bare Temporal (issue 4): writes docs/BENCHMARKS.md and docs/bench-results/.
# FULL=1 runs the full sizes; PROFILE=1 adds a py-spy profile of figure 1.
bench: $(INSTALLED)
	$(BIN)/python -m bench $(if $(FULL),--full,) $(if $(PROFILE),--profile,)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache $(IDP)/node_modules $(WEB)/node_modules
