# Two entry points for a fresh machine: `make run` (the chat) and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 7860
CMRC ?= ../shared/eval/external/cmrc2018_trial.json

.PHONY: run test setup browser screenshot bench

$(BIN)/assistant: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# Pin the CPU build of torch first: an unpinned torch pulls several GB of CUDA.
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

setup: $(BIN)/assistant

run: setup
	$(BIN)/assistant serve --host $(HOST) --port $(PORT)

# The browser test needs Debian's chromium and a CJK font; install them where we can (root).
browser:
	@if [ ! -x /usr/bin/chromium ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; \
	fi

test: setup browser
	$(BIN)/python -m pytest -q
	$(BIN)/assistant reindex --check
	$(BIN)/assistant eval eval/questions.jsonl --min-accuracy 0.85 --min-refusal 0.90
	# Follow-ups (conversations written before the code that resolves them; README "Quality").
	$(BIN)/assistant eval eval/followups.jsonl --min-accuracy 0.85 --min-refusal 0.85
	# The holdout sets (written without sight of the code) guard against regressions too.
	for f in eval/holdout*.jsonl; do $(BIN)/assistant eval $$f --min-accuracy 0.85 --min-refusal 0.85 || exit 1; done
	# Open-domain on a set never tuned on (a regression guard; see README "Open-domain benchmark").
	@if [ -f $(CMRC) ]; then \
		$(BIN)/python benchmarks/open_domain.py $(CMRC) --seed 0 --min-accuracy 0.70 --min-refusal 0.80; \
	else echo "skipped the open-domain gate: $(CMRC) not found"; fi

screenshot: setup
	$(BIN)/python -m tests.screenshot docs/chat-1366.png --width 1366 --height 900
	$(BIN)/python -m tests.screenshot docs/chat-390.png --width 390 --height 844 --question "青岛地铁6号线是什么时候开通的？"
	CONSOLE_SCREENSHOTS=docs $(BIN)/python -m pytest -q tests/test_console_browser.py

bench: setup
	$(BIN)/python benchmarks/run.py
