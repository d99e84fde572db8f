# The two commands of the README: `make demo` and `make test`. Both set up .venv first if needed.
VENV := .venv
STAMP := $(VENV)/.installed
PY := $(VENV)/bin/python

.PHONY: demo test lint setup browser clean

$(STAMP): pyproject.toml requirements.lock scripts/setup.sh
	bash scripts/setup.sh
	touch $(STAMP)

setup: $(STAMP)

# Debian's chromium for tests/test_browser.py (a no-op when it is installed already).
browser:
	bash scripts/setup-browser.sh

demo: $(STAMP)
	rm -rf reports/demo
	$(VENV)/bin/mtqa score data/samples --out reports/demo
	@echo "Open reports/demo/index.html"

test: $(STAMP) browser
	$(VENV)/bin/ruff check mtqa tests scripts
	$(VENV)/bin/ruff format --check mtqa tests scripts
	$(VENV)/bin/pytest -q

clean:
	rm -rf $(VENV) reports/demo .pytest_cache
