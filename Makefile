# Two commands for a fresh machine:  `make demo`  and  `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PIP_FLAGS ?= --disable-pip-version-check --progress-bar off

.PHONY: demo test install system-deps lint clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install $(PIP_FLAGS) --upgrade pip
	# torch is never needed by the default install; if a dependency asks, pip takes the CPU build on disk.
	$(BIN)/pip install $(PIP_FLAGS) -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

## Set up and run the whole pipeline on the bundled demo site (then serve the API on :8000).
demo: install
	$(BIN)/yuqing demo $(DEMO_ARGS)

## Set up and run the test suite.
test: install
	$(BIN)/yuqing doctor
	$(BIN)/pytest $(PYTEST_ARGS)

## Debian packages the pipeline and tests use (Java for Spark, ffmpeg, espeak-ng/sox for test media, Chromium).
system-deps:
	apt-get update
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
		openjdk-17-jre-headless ffmpeg espeak-ng sox chromium chromium-driver

clean:
	rm -rf .yuqing build *.egg-info .pytest_cache
