# The front door. `make run` serves the app; `make test` runs every tier.
# Both install what they need first, on a fresh Debian/Ubuntu machine with Python 3.11+.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# gcc and the Python headers build uWSGI; venv makes the virtualenv.
BUILD_PACKAGES := gcc python3-dev python3-venv
# The service tier runs a real Redis, and opens the docs page in a real browser.
TEST_PACKAGES := redis-server chromium

.PHONY: run test lint unit service test-packages clean

run: $(VENV)/.installed
	@# manifest.yml's own command, as the platform runs it, on http://localhost:8000.
	HOST=127.0.0.1 PORT=$${PORT:-8000} GIT_COMMIT=$$(git rev-parse --verify --quiet HEAD) \
		PATH="$(CURDIR)/$(BIN):$$PATH" bash -c "$$(sed -n 's/^ *command: *//p' manifest.yml)"

test: $(VENV)/.installed test-packages
	$(BIN)/tox run

unit service lint: $(VENV)/.installed test-packages
	$(BIN)/tox run -e $@

# Only the tests need these; `make run` does without.
test-packages:
	scripts/install-system-packages $(TEST_PACKAGES)

$(VENV)/.installed: requirements.txt requirements-test.txt requirements-dev.txt
	scripts/install-system-packages $(BUILD_PACKAGES)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check \
		-r requirements.txt -r requirements-test.txt -r requirements-dev.txt
	touch $@

clean:
	rm -rf $(VENV) .tox .coverage .coverage.* htmlcov .mypy_cache .pytest_cache .ruff_cache
