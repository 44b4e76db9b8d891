# clinicpay: `make run` starts the whole suite on the embedded default, `make test` runs
# every test. Both create the virtualenv and install the locked dependencies first.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# The lock holds hashes for every artifact of every pinned release; pip refuses anything else.
PIP_INSTALL := PIP_EXTRA_INDEX_URL= PIP_DISABLE_PIP_VERSION_CHECK=1 $(BIN)/pip install -q

.PHONY: install browser run test unit integration bench lint lock token clean

install: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "clinicpay needs Python 3.11"'
	$(PYTHON) -m venv $(VENV)
	$(PIP_INSTALL) --require-hashes -r requirements.lock
	$(PIP_INSTALL) --no-deps -e .
	@touch $(STAMP)

# The portal's browser tests drive Debian's chromium (Playwright cannot download one here).
CHROMIUM ?= /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

browser:
	@test -x $(CHROMIUM) || { $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
		$(SUDO) apt-get install -y -qq -o DPkg::Lock::Timeout=300 chromium; }

run: install
	$(BIN)/clinicpay run

test: install browser
	$(BIN)/ruff check .
	$(BIN)/pytest

unit: install
	$(BIN)/pytest schemas lib services

integration: install browser
	$(BIN)/pytest tests/integration

bench: install
	$(BIN)/python -m bench

lint: install
	$(BIN)/ruff check .

# Regenerate the locks after changing dependencies in pyproject.toml: everything for
# development and tests, and the runtime-only set the container image installs.
LOCK_TARGET := --generate-hashes --python-version 3.11 --python-platform x86_64-manylinux_2_28
lock: install
	$(PIP_INSTALL) uv
	$(BIN)/uv pip compile pyproject.toml --extra dev $(LOCK_TARGET) -o requirements.lock
	$(BIN)/uv pip compile pyproject.toml $(LOCK_TARGET) -o requirements-runtime.lock

# make token CLINIC=<uuid> ROLE=billing
token: install
	@$(BIN)/clinicpay token --clinic-id $(CLINIC) --role $(or $(ROLE),billing)

clean:
	rm -rf $(VENV) .run
