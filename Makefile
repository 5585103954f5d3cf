# Two commands for a newcomer (see README.md):
#   make up     install what is needed, then bring the local platform up
#   make test   install what is needed, then run the test suite
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
ENV    ?= local

.PHONY: setup tools up verify down status test drills lint bench clean

# Two distributions: the platform tooling (fmctl, stacks, policies) and the app (app/, the
# wheel the platform deploys), both editable so tests run what the tree holds.
$(BIN)/fmctl: pyproject.toml app/pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "needs $(PYTHON)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ./app -e '.[test]'
	@touch $@

# Optional: actionlint (a Go tool) lints .github/workflows. Without a Go
# toolchain the pipeline test still checks the workflow schema and says that
# it skipped actionlint.
ACTIONLINT_VERSION ?= v1.7.12

$(BIN)/actionlint: | $(BIN)/fmctl
	@if command -v go >/dev/null; then \
	  GOBIN=$(abspath $(BIN)) go install github.com/rhysd/actionlint/cmd/actionlint@$(ACTIONLINT_VERSION) \
	    || echo "actionlint could not be installed: the workflow test skips it"; \
	else echo "no Go toolchain: actionlint is not installed (optional)"; fi

setup: $(BIN)/fmctl $(BIN)/actionlint

# Client tools of the README's walk-through (tests/live/test_app.py runs it); apt only when missing.
WALKTHROUGH_TOOLS := curl:curl jq:jq uuidgen:uuid-runtime openssl:openssl
tools:
	@missing=""; for t in $(WALKTHROUGH_TOOLS); do command -v $${t%%:*} >/dev/null || missing="$$missing $${t#*:}"; done; \
	if [ -n "$$missing" ]; then echo "installing$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; fi

up: setup
	$(BIN)/fmctl up --env $(ENV)

verify: setup
	$(BIN)/fmctl verify --env $(ENV)

down: setup
	$(BIN)/fmctl down --env $(ENV)

status: setup
	$(BIN)/fmctl status --env $(ENV)

test: setup tools
	$(BIN)/pytest

drills: setup
	$(BIN)/pytest -m slow

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ansible-lint --profile production roles playbooks

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info
