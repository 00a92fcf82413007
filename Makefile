# Two commands on a fresh machine:  make demo  (offline quickstart end to end)  and  make test.
# Both create .venv and install what they need. torch is installed first, pinned, so pip never
# resolves another build (on a CPU-only machine the local CPU wheel satisfies the pin).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export HF_HUB_OFFLINE ?= 1
export HF_DATASETS_OFFLINE ?= 1
export TOKENIZERS_PARALLELISM ?= false

.PHONY: install demo test bench-memory clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q torch==2.13.0
	# PYTHONWARNINGS: setuptools lists every bundled sample folder as "not a package" (they are package data)
	PYTHONWARNINGS=ignore $(BIN)/python -m pip install -q -e ".[dev,report,cluster]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/adapterstilts quickstart --output demo-runs --overwrite

test: $(STAMP)
	$(BIN)/python -m pytest tests -q

bench-memory: $(STAMP)
	$(BIN)/python scripts/bench_memory.py

clean:
	rm -rf $(VENV) demo-runs .pytest_cache
