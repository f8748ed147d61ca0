"""Typed schemas for every config group, registered with Hydra, and the checks run before compute.

The dataclasses make Hydra reject an unknown key or a wrong type at compose time; `validate` adds the
cross-field rules (T >= 0, 0 < top_p <= 1, n_samples >= max k, paths that exist) and raises
`ConfigError` with one line naming the key, the value and what is allowed. Nothing here imports torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hydra.core.config_store import ConfigStore


class ConfigError(ValueError):
    """A config or input value that cannot run; the message is the one line shown to the user."""


@dataclass
class ToyTaskConfig:
    """The embedded fork/lock token language (see ssd/toy.py); shared by model, data and eval."""

    n_instances: int = 8  # problems; each prompt names one
    n_forks: int = 2  # fork states per solution (2-3 valid next tokens each)
    locks_per_fork: int = 2  # lock states after each fork (one valid token)
    n_content_tokens: int = 16  # toy alphabet size, besides EOS
    hard_lock_fraction: float = 0.3  # locks where one wrong token competes
    trap_fork_fraction: float = 0.7  # forks whose single most likely token is wrong
    lock_valid_mass: float = 0.9  # reference p(valid) at an easy lock
    hard_lock_valid_mass: float = 0.55
    hard_lock_competitor_mass: float = 0.3
    fork_valid_mass: float = 0.75  # total reference mass of the valid tokens at a fork
    trap_fork_valid_mass: float = 0.55
    trap_ratio: float = 1.5  # trap token mass / the largest valid token's mass
    tail_ratio: float = 0.6  # geometric decay of the distractor tail
    seed: int = 1234  # which language: valid tokens and distributions


@dataclass
class BaseFitConfig:
    """Fitting the toy base model to samples of the noisy reference distribution (stage `base`)."""

    n_sequences: int = 4096
    max_steps: int = 300
    batch_size: int = 64
    lr: float = 3e-3
    seed: int = 0


@dataclass
class ModelConfig:
    name: str = "toy"
    kind: str = "toy"  # toy: built locally and fit (stage `base`); hf: an HF id or directory
    path: str | None = None  # HF hub id or local directory (kind=hf)
    dtype: str = "float32"  # float32 | bfloat16 | float16 | auto
    trust_remote_code: bool = False
    max_context: int = 4096
    hidden_size: int = 64  # the toy architecture (kind=toy), a Qwen3 config
    num_layers: int = 2
    num_heads: int = 4
    head_dim: int = 16
    intermediate_size: int = 128
    base_fit: BaseFitConfig = field(default_factory=BaseFitConfig)


@dataclass
class PromptConfig:
    format: str = "raw"  # raw: the prompt text as is; chat: the tokenizer's chat template
    system_message: str | None = None


@dataclass
class DataConfig:
    """The prompt pool SSD samples from."""

    name: str = "toy"
    kind: str = "toy"  # toy | jsonl
    path: str | None = None  # jsonl: rows with `question`, optional `starter_code`, `id`
    copies_per_instance: int = 64  # toy: prompts per instance in the pool
    limit: int | None = None  # keep the first N prompts
    prompt: PromptConfig = field(default_factory=PromptConfig)


@dataclass
class SamplingConfig:
    """Drawing the SSD training samples from the frozen base model."""

    temperature: float = 1.0  # T_train
    top_k: int = 0  # 0 = off
    top_p: float = 0.8
    n_per_prompt: int = 1  # the paper draws ONE completion per prompt
    max_new_tokens: int = 16
    seed: int = 0  # first replicate's seed; replicate r uses seed + r
    backend: str = "hf"  # hf | vllm
    batch_size: int = 128


@dataclass
class FilterConfig:
    name: str = "empty"
    drop_empty: bool = True  # the paper and the official code both drop empty outputs
    stub_max_lines: int = 0  # drop outputs with at most this many non-blank lines (paper: 1)
    shortest_percent: float = 0.0  # then drop the shortest P% by characters (official code: 10)
    min_kept_fraction: float = 0.05  # stop instead of training on (almost) nothing


@dataclass
class FinetuneConfig:
    """Plain SFT on the kept samples; loss on completion tokens only."""

    lr: float = 1e-3
    min_lr: float = 1e-4  # cosine floor
    warmup_steps: int = 5
    max_steps: int = 150
    batch_size: int = 32  # per device
    global_batch_size: int = 32  # gradient accumulation = global / (batch_size * devices)
    weight_decay: float = 0.1
    betas: list[float] = field(default_factory=lambda: [0.9, 0.95])
    grad_clip: float = 1.0
    max_seq_len: int = 4096
    loss_norm: str = "token_mean"  # token_mean | sum (the paper's equation)
    precision: str = "32-true"
    devices: int = 1
    accelerator: str = "auto"


@dataclass
class BenchmarkConfig:
    name: str = "toy"  # toy (exact pass@1 by teacher forcing, pass@k by sampling)


@dataclass
class EvalConfig:
    """Decoding the models at T_eval and scoring them."""

    temperature: float | None = None  # T_eval for one cell of a sweep; overrides `temperatures`
    temperatures: list[float] = field(
        default_factory=lambda: [0.2, 0.4, 0.6, 0.8, 1.0, 1.2, 1.4, 1.6, 1.8, 2.0]
    )
    top_k: int = 0
    top_p: float = 1.0
    n_samples: int = 32  # samples per problem for pass@k
    k: list[int] = field(default_factory=lambda: [1, 8])
    max_new_tokens: int = 16
    batch_size: int = 256
    benchmark: BenchmarkConfig = field(default_factory=BenchmarkConfig)


@dataclass
class LoggerConfig:
    name: str = "wandb"  # wandb | csv | none
    project: str = "ssd-sweeps"
    mode: str = "auto"  # auto: online with an API key, offline without; offline | online
    group: str | None = None


@dataclass
class PathsConfig:
    cache_dir: str = "outputs/cache"  # content-addressed stage outputs; share it across jobs
    output_dir: str | None = None  # this run's files; None = the Hydra run directory


@dataclass
class Config:
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    sampling: SamplingConfig = field(default_factory=SamplingConfig)
    filter: FilterConfig = field(default_factory=FilterConfig)
    finetune: FinetuneConfig = field(default_factory=FinetuneConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    logger: LoggerConfig = field(default_factory=LoggerConfig)
    paths: PathsConfig = field(default_factory=PathsConfig)
    toy: ToyTaskConfig = field(default_factory=ToyTaskConfig)
    replicates: int = 2  # independent seeds of sample -> finetune -> eval, for the spread
    name: str = "ssd"  # free label for the run (W&B run name prefix)


def register_configs() -> None:
    """Make the schema the base of `conf/config.yaml` (its defaults list names `schema`)."""
    ConfigStore.instance().store(name="schema", node=Config)


# ----------------------------------------------------------------------------------------------
# Validation: one function per rule family, each raising ConfigError with one line.


def _require(ok: bool, key: str, value: Any, allowed: str) -> None:
    if not ok:
        raise ConfigError(f"{key}={value!r} is invalid: {allowed}")


def _check_decoding(prefix: str, temperatures: list[float], top_k: int, top_p: float) -> None:
    for t in temperatures:
        _require(t is not None and t >= 0, f"{prefix}.temperature", t, "must be >= 0 (0 = greedy)")
    _require(top_k >= 0, f"{prefix}.top_k", top_k, "must be >= 0 (0 = off)")
    _require(0 < top_p <= 1, f"{prefix}.top_p", top_p, "must be in (0, 1]")


def eval_temperatures(cfg: Any) -> list[float]:
    """The T_eval grid of this run: `eval.temperature` alone when set, else `eval.temperatures`."""
    if cfg.eval.temperature is not None:
        return [float(cfg.eval.temperature)]
    return [float(t) for t in cfg.eval.temperatures]


def _looks_like_local_path(path: str) -> bool:
    return path.startswith(("/", "./", "../", "~")) or Path(path).exists()


def validate(cfg: Any) -> None:
    """Check every rule that needs no compute; raise ConfigError on the first violation."""
    from omegaconf import OmegaConf

    missing = sorted(OmegaConf.missing_keys(cfg))
    _require(
        not missing, missing[0] if missing else "", "???", "required: set it on the command line"
    )
    s, e, f, ft = cfg.sampling, cfg.eval, cfg.filter, cfg.finetune
    _check_decoding("sampling", [s.temperature], s.top_k, s.top_p)
    _check_decoding("eval", eval_temperatures(cfg), e.top_k, e.top_p)
    _require(len(eval_temperatures(cfg)) > 0, "eval.temperatures", [], "needs at least one T_eval")
    _require(s.n_per_prompt >= 1, "sampling.n_per_prompt", s.n_per_prompt, "must be >= 1")
    _require(s.max_new_tokens >= 1, "sampling.max_new_tokens", s.max_new_tokens, "must be >= 1")
    _require(s.backend in ("hf", "vllm"), "sampling.backend", s.backend, "one of hf, vllm")
    _require(s.batch_size >= 1, "sampling.batch_size", s.batch_size, "must be >= 1")
    _require(len(e.k) > 0 and min(e.k) >= 1, "eval.k", list(e.k), "a non-empty list of k >= 1")
    _require(
        e.n_samples >= max(e.k),
        "eval.n_samples",
        e.n_samples,
        f"must be >= max(eval.k) = {max(e.k)} for an unbiased pass@k",
    )
    _require(
        0 <= f.min_kept_fraction <= 1, "filter.min_kept_fraction", f.min_kept_fraction, "in [0, 1]"
    )
    _require(
        0 <= f.shortest_percent < 100, "filter.shortest_percent", f.shortest_percent, "in [0, 100)"
    )
    _require(ft.lr > 0, "finetune.lr", ft.lr, "must be > 0")
    _require(0 <= ft.min_lr <= ft.lr, "finetune.min_lr", ft.min_lr, f"in [0, finetune.lr={ft.lr}]")
    _require(ft.max_steps >= 1, "finetune.max_steps", ft.max_steps, "must be >= 1")
    _require(
        ft.loss_norm in ("token_mean", "sum"),
        "finetune.loss_norm",
        ft.loss_norm,
        "token_mean or sum",
    )
    per_step = ft.batch_size * ft.devices
    _require(
        ft.global_batch_size % per_step == 0,
        "finetune.global_batch_size",
        ft.global_batch_size,
        f"must be a multiple of batch_size*devices = {per_step}",
    )
    _require(cfg.replicates >= 1, "replicates", cfg.replicates, "must be >= 1")
    _validate_data(cfg)
    _validate_model(cfg)


def _validate_model(cfg: Any) -> None:
    m = cfg.model
    _require(m.kind in ("toy", "hf"), "model.kind", m.kind, "one of toy, hf")
    if m.kind == "hf":
        _require(bool(m.path), "model.path", m.path, "an HF hub id or an existing model directory")
        if _looks_like_local_path(m.path):
            path = Path(m.path).expanduser()
            _require(path.is_dir(), "model.path", m.path, "no such directory")
            _require(
                (path / "config.json").is_file(),
                "model.path",
                m.path,
                "not an HF model directory (no config.json)",
            )
    if m.kind == "toy" or cfg.data.kind == "toy" or cfg.eval.benchmark.name == "toy":
        kinds = (m.kind, cfg.data.kind, cfg.eval.benchmark.name)
        _require(
            kinds == ("toy", "toy", "toy"),
            "model/data/eval.benchmark",
            kinds,
            "the toy model, prompt pool and benchmark go together (all three toy)",
        )
        t = cfg.toy
        _require(t.n_instances >= 1, "toy.n_instances", t.n_instances, "must be >= 1")
        _require(
            t.n_content_tokens >= 8, "toy.n_content_tokens", t.n_content_tokens, "must be >= 8"
        )
        needed = t.n_forks * (1 + t.locks_per_fork) + 1
        _require(
            cfg.sampling.max_new_tokens >= needed and cfg.eval.max_new_tokens >= needed,
            "sampling.max_new_tokens",
            cfg.sampling.max_new_tokens,
            f"the toy's solutions need {needed} tokens (and eval.max_new_tokens too)",
        )


def _validate_data(cfg: Any) -> None:
    d = cfg.data
    _require(d.kind in ("toy", "jsonl"), "data.kind", d.kind, "one of toy, jsonl")
    _require(
        d.prompt.format in ("raw", "chat"), "data.prompt.format", d.prompt.format, "raw or chat"
    )
    _require(d.limit is None or d.limit >= 1, "data.limit", d.limit, "None or >= 1")
    if d.kind == "jsonl":
        from ssd.data import load_jsonl_prompts  # parses the file: a bad row is a config error

        load_jsonl_prompts(d.path)
