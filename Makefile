# Two commands do everything on a fresh machine with Python >= 3.11:
#   make demo   train a beta-VAE on procedural dSprites for 5 minutes, evaluate it (metrics at
#               1,000 points each, a tenth of the reference sizes), write its report
#   make test   the default test suite (slow reproduction runs excluded) and the linter
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
RUN ?= runs/demo

.PHONY: setup demo test lint bench slow clean

setup: $(STAMP)

$(PY):
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python >= 3.11 is required")'
	$(PYTHON) -m venv $(VENV)

# torch first, when none is importable: the pinned CPU wheel where one is at hand, else any >= 2.4.
$(STAMP): pyproject.toml | $(PY)
	@$(PY) -c 'import torch' 2>/dev/null || $(PY) -m pip install -q 'torch==2.13.0' || $(PY) -m pip install -q 'torch>=2.4'
	$(PY) -m pip install -q -e '.[dev]'
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

demo: $(STAMP)
	$(PY) -m disentangled train --preset demo --out $(RUN) --overwrite
	$(PY) -m disentangled evaluate $(RUN) --num-train 1000
	$(PY) -m disentangled report $(RUN)
	@echo "open $(RUN)/report.html"

test: $(STAMP)
	$(VENV)/bin/ruff check .
	$(PY) -m pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

bench: $(STAMP)
	$(PY) benchmarks/train_throughput.py

slow: $(STAMP)
	$(PY) -m pytest -q -m slow

clean:
	rm -rf $(VENV) runs .pytest_cache .ruff_cache

# JointVAE on MNIST at the paper's length (93,750 steps) for three seeds, one run directory each
# under runs/jointvae-mnist/; prints each seed's test accuracy and their median. Hours on a CPU;
# an interrupted reproduction resumes. MNIST files: $DISENTANGLED_DATA/mnist/ or MNIST_DIR=FOLDER.
MNIST_DIR ?=
JOINTVAE_SEEDS ?= 0 1 2
.PHONY: reproduce-jointvae-mnist
reproduce-jointvae-mnist: $(STAMP)
	$(PY) -m disentangled.evaluation.reproduce --preset jointvae-mnist --seeds $(JOINTVAE_SEEDS) \
		--out runs/jointvae-mnist$(JOINTVAE_SUFFIX) $(if $(MNIST_DIR),data.path=$(MNIST_DIR)) $(JOINTVAE_ARGS)

# InfoGAN on MNIST with the preset (5,000 updates of batch 128) for three seeds, one run directory
# each under runs/infogan-mnist/; prints each seed's test accuracy of the categorical code, the
# median and the spread. Hours on a 2-core CPU; an interrupted reproduction resumes.
INFOGAN_SEEDS ?= 0 1 2
.PHONY: reproduce-infogan-mnist
reproduce-infogan-mnist: $(STAMP)
	$(PY) -m disentangled.evaluation.infogan --preset infogan-mnist --seeds $(INFOGAN_SEEDS) \
		--out runs/infogan-mnist $(if $(MNIST_DIR),data.path=$(MNIST_DIR))
