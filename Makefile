# The front door. `make run` serves the app; `make test` runs every tier.
# Both install what they need first, on a fresh Debian/Ubuntu machine with Python 3.11+.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# gcc and the Python headers build uWSGI; venv makes the virtualenv.
BUILD_PACKAGES := gcc python3-dev python3-venv
# The service tier runs a real Redis, and opens the docs page in a real browser: Debian's
# chromium, unless a Chromium or Chrome is there already (as on GitHub's Ubuntu runners,
# where the chromium package is only a snap stub).
BROWSER := $(shell command -v chromium || command -v chromium-browser || command -v google-chrome)
TEST_PACKAGES := redis-server $(if $(BROWSER),,chromium)

.PHONY: run test lint unit service test-packages bench clean

run: $(VENV)/.installed
	@# manifest.yml's own command, as the platform runs it, on http://localhost:8000.
	HOST=127.0.0.1 PORT=$${PORT:-8000} GIT_COMMIT=$$(git rev-parse --verify --quiet HEAD) \
		PATH="$(CURDIR)/$(BIN):$$PATH" bash -c "$$(sed -n 's/^ *command: *//p' manifest.yml)"

# Every tier runs in .venv, which holds the same locks as tox's own envs would
# (tox-current-env), so nothing is installed seven times over: plain `tox run` still
# builds an env per tier. Exported, so the tox the pipeline tier runs does the same.
# Two tiers at a time, in tox.ini's order (`depends`): most of a tier's time is spent
# waiting on the processes it starts. A tier's output is shown if it fails.
test: $(VENV)/.installed test-packages
	TOX_CURRENT_ENV=1 $(BIN)/tox run-parallel --parallel 2 --parallel-no-spinner
	@# The benchmark must work (every contender started, checked and measured briefly);
	@# its numbers are for `make bench`, never asserted.
	$(MAKE) bench QUICK=1

unit service lint e2e: $(VENV)/.installed test-packages
	TOX_CURRENT_ENV=1 $(BIN)/tox run -e $@

# Only the tests need these; `make run` does without.
test-packages:
	scripts/install-system-packages $(TEST_PACKAGES)

# The benchmark (benchmark/README.md): the service against bare Falcon (and, in the
# template, the Spring baseline, built only where benchmark/spring is), every contender up
# at once; Markdown tables on stdout, benchmark/results/latest.json. QUICK=1: a functional
# check (CI), every contender and phase, briefly. BENCH_ARGS: more options, e.g.
# BENCH_ARGS="--before REF" (a commit or tag) adds the service as it was there.
bench: $(VENV)/.bench-installed
	scripts/install-system-packages wrk util-linux
	$(wildcard benchmark/spring/build.sh)
	$(BIN)/python -m benchmark.run $(if $(QUICK),--quick) $(BENCH_ARGS)

$(VENV)/.bench-installed: $(VENV)/.installed benchmark/requirements.txt
	$(BIN)/pip install --quiet --disable-pip-version-check --require-hashes \
		-r benchmark/requirements.txt
	touch $@

$(VENV)/.installed: requirements.txt requirements-test.txt requirements-dev.txt
	scripts/install-system-packages $(BUILD_PACKAGES)
	$(PYTHON) -m venv $(VENV)
	@# The locks (`make lock`): pip installs nothing whose hash is not in them.
	$(BIN)/pip install --quiet --disable-pip-version-check --require-hashes \
		-r requirements.txt -r requirements-test.txt -r requirements-dev.txt
	touch $@

# Dependencies (README, "Dependencies"): each requirements*.in compiled into its .txt lock,
# pinned with hashes; lock-check fails unless `make lock` would leave the locks as they are.
# Both need PyPI. LOCK_ARGS: more pip-compile options, e.g. "--upgrade-package redis".
.PHONY: lock lock-check
lock lock-check: $(VENV)/.installed
	PATH="$(CURDIR)/$(BIN):$$PATH" scripts/lock $(if $(filter lock-check,$@),--check)

# template-only: begin
# A new service from this one: renamed, version 0.1.0, a fresh git history, and a record of
# the template commit it came from (README, "Start a new service").
.PHONY: new-service
new-service:
	@$(PYTHON) scripts/new_service.py $(if $(TEMPLATE),--template "$(TEMPLATE)") -- "$(NAME)" "$(DEST)"

# template-only: end
# In a generated service, template-status says how far behind the template it is and
# template-update merges the template's newer commits (README, "Follow the template");
# TEMPLATE=path-or-URL if it has moved, REF=branch-or-tag to follow another. Standard
# library only: no .venv needed.
.PHONY: template-update template-status
template-update template-status:
	@$(PYTHON) scripts/template_update.py $(@:template-%=%) \
		$(if $(TEMPLATE),--template "$(TEMPLATE)") $(if $(REF),--ref "$(REF)")

# The delivery pipeline (README, "Continuous delivery"): TARGET=cf through the cf CLI,
# TARGET=local to two deployments on this machine; DRY_RUN=1 prints every command and runs
# none. Its other settings come from the environment (scripts/deliver.py --help).
TARGET ?= local
.PHONY: e2e deliver
deliver: $(VENV)/.installed test-packages
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python scripts/deliver.py --target "$(TARGET)"

clean:
	rm -rf $(VENV) .tox .coverage .coverage.* htmlcov .mypy_cache .pytest_cache .ruff_cache
