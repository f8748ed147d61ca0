"""Typed schemas for every config group, registered with Hydra.

The dataclasses make Hydra reject an unknown key or a wrong type at compose time; the cross-field
rules that need the whole config live in ssd/validation.py. Nothing here imports torch.
"""

from __future__ import annotations

from dataclasses import MISSING, dataclass, field
from enum import Enum
from typing import Any

from hydra.core.config_store import ConfigStore


class ConfigError(ValueError):
    """A config or input value that cannot run; the message is the one line shown to the user."""


class KeyRole(str, Enum):
    """What a field means for cache identity (`ssd.cache.identity` is the one rule that reads it).

    RESULT (the default) can change a number, so every key that covers its section hashes it.
    PIPELINE fields are read by the pipeline, which hands the stage the value it derives (the
    replicate's seed, the T_eval list, the checkpoint choice): the stage's key hashes that value
    instead, the run record's key hashes the field. SPLIT fields cut one job's work (sampling
    shards): no stage key, but the run record's key, so array tasks never wait on each other's
    record. RUNTIME fields say where or how fast work runs, or only name it: no key at all.
    """

    RESULT = "result"
    PIPELINE = "pipeline"
    SPLIT = "split"
    RUNTIME = "runtime"


ROLE = "key_role"  # the dataclass field metadata entry holding a KeyRole


def keyed(role: KeyRole, default: Any = MISSING, *, default_factory: Any = MISSING) -> Any:
    """A schema field with a non-default KeyRole (see KeyRole for what each one means)."""
    if default_factory is not MISSING:
        return field(default_factory=default_factory, metadata={ROLE: role})
    return field(default=default, metadata={ROLE: role})


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
    name: str = keyed(KeyRole.RUNTIME, "toy")
    kind: str = "toy"  # toy: built locally and fit (stage `base`); hf: an HF id or directory
    path: str | None = None  # HF hub id or local directory (kind=hf)
    dtype: str = "float32"  # float32 | bfloat16 | float16 | auto
    trust_remote_code: bool = keyed(KeyRole.RUNTIME, False)
    max_context: int = 4096  # tokens; vLLM's max_model_len unless sampling.vllm.max_model_len
    # Extra variables for the chat template, e.g. gpt-oss {reasoning_effort: high}.
    chat_template_kwargs: dict[str, Any] = field(default_factory=dict)
    hidden_size: int = 64  # the toy architecture (kind=toy), a Qwen3 config
    num_layers: int = 2
    num_heads: int = 4
    head_dim: int = 16
    intermediate_size: int = 128
    base_fit: BaseFitConfig = field(default_factory=BaseFitConfig)


@dataclass
class PromptConfig:
    """How a problem becomes the model's input (ssd/prompts.py)."""

    # raw: the official code's LCB wording as plain text (toy: the question as is);
    # chat: the tokenizer's chat template, system message + the problem as the user turn (paper)
    format: str = "raw"
    template: str = "plain"  # plain: the statement (+ starter code); lcb: the official wording
    system_message: str | None = None  # chat only


@dataclass
class DataConfig:
    """The prompt pool SSD samples from."""

    name: str = keyed(KeyRole.RUNTIME, "toy")
    kind: str = "toy"  # toy | jsonl | rstar
    # jsonl: rows with `question`, optional `starter_code`, `id`. rstar: local parquet/JSONL
    # file(s) in the seed_sft schema instead of the hub dataset (offline, tests).
    path: str | None = None
    hf_dataset: str = "microsoft/rStar-Coder"  # rstar: hub id, loaded with datasets.load_dataset
    hf_config: str = "seed_sft"
    split: str = "train"
    dedup: bool = False  # rstar: exact de-dup on the whitespace-normalised question (paper: true)
    copies_per_instance: int = 128  # toy: prompts per instance in the pool
    limit: int | None = None  # keep the first N prompts (after de-dup)
    prompt: PromptConfig = field(default_factory=PromptConfig)


@dataclass
class VLLMConfig:
    """Engine settings of the `vllm` backend; they do not change which samples are drawn."""

    tensor_parallel_size: int = 1
    gpu_memory_utilization: float = 0.9
    max_model_len: int | None = None  # prompt + completion tokens; None = model.max_context
    enforce_eager: bool = False  # skip CUDA graphs: slower, starts faster, less memory
    max_num_seqs: int | None = None  # concurrent sequences; None = vLLM's default


@dataclass
class SamplingConfig:
    """Drawing the SSD training samples from the frozen base model."""

    temperature: float = 1.0  # T_train
    top_k: int = 0  # 0 = off
    top_p: float = 0.8
    n_per_prompt: int = 1  # the paper draws ONE completion per prompt
    max_new_tokens: int = 16
    seed: int = keyed(KeyRole.PIPELINE, 0)  # first replicate's seed; replicate r uses seed + r
    backend: str = "hf"  # hf | vllm
    batch_size: int = keyed(
        KeyRole.RUNTIME, 128
    )  # hf: rows per generate call (vllm schedules its own batches)
    # Work split (none of these change the samples, so none enters the stage's key):
    shard_size: int = keyed(KeyRole.SPLIT, 256)  # prompts per shard file, the unit of resumption
    num_shards: int = keyed(
        KeyRole.SPLIT, 1
    )  # SLURM array tasks splitting one pool; task i does shards i, i+N, ...
    shard_id: int | None = keyed(
        KeyRole.SPLIT, None
    )  # this task's index; None = do every missing shard and merge
    vllm: VLLMConfig = keyed(KeyRole.RUNTIME, default_factory=VLLMConfig)


@dataclass
class FilterConfig:
    name: str = keyed(KeyRole.RUNTIME, "empty")
    drop_empty: bool = True  # the paper and the official code both drop empty outputs
    stub_max_lines: int = 0  # drop outputs with at most this many non-blank lines (paper: 1)
    drop_degenerate: bool = False  # drop repetition loops and length-capped outputs (paper: keep)
    dedup: bool = False  # drop exact duplicate completions of the same prompt (n_per_prompt > 1)
    shortest_percent: float = 0.0  # then drop the shortest P% by characters (official code: 10)
    min_kept_fraction: float = keyed(
        KeyRole.RUNTIME, 0.05
    )  # stop instead of training on (almost) nothing


@dataclass
class LoraConfig:
    """LoRA adapters via peft; the exported checkpoints are merged (plain HF weights)."""

    enabled: bool = False
    r: int = 16
    alpha: float = 32.0
    dropout: float = 0.05
    target_modules: list[str] = field(
        default_factory=lambda: [
            "q_proj",
            "k_proj",
            "v_proj",
            "o_proj",
            "gate_proj",
            "up_proj",
            "down_proj",
        ]
    )  # [all-linear] = every linear layer but the output head


@dataclass
class FinetuneConfig:
    """Plain SFT on the kept samples; loss on completion tokens only (see ssd/sft_module.py)."""

    lr: float = 1e-3
    min_lr: float = 1e-4  # cosine floor
    warmup_steps: int = 5
    max_steps: int | None = 300  # optimizer steps; null to train by `epochs`
    epochs: float | None = None  # passes over the kept samples (needs max_steps=null)
    batch_size: int = 32  # per device
    global_batch_size: int = 32  # accumulation = global / (batch_size * devices * num_nodes)
    weight_decay: float = 0.1
    betas: list[float] = field(default_factory=lambda: [0.9, 0.95])
    grad_clip: float = 1.0  # max global grad norm; 0 = off
    max_seq_len: int = 4096  # longer prompt+completion rows are cut (counted as n_truncated)
    loss_norm: str = "token_mean"  # token_mean: mean over the step's completion tokens | sum
    batching: str = "length_grouped"  # length_grouped (little padding) | random
    length_group_batches: int = 64  # batches per length-sorted megabatch; 0 = whole pass
    precision: str = "auto"  # auto (32-true on CPU, bf16-mixed on GPU) | 32-true | bf16-*
    gradient_checkpointing: bool = keyed(
        KeyRole.RUNTIME, False
    )  # recompute activations: less memory, ~30% slower
    strategy: str = "auto"  # auto | ddp | fsdp | deepspeed
    devices: int = 1  # per node
    num_nodes: int = 1
    accelerator: str = keyed(KeyRole.RUNTIME, "auto")
    save_every: int = 50  # HF + resume checkpoint every N steps; 0 = only the final model
    num_workers: int = keyed(KeyRole.RUNTIME, 0)  # DataLoader workers
    lora: LoraConfig = field(default_factory=LoraConfig)


@dataclass
class BenchmarkConfig:
    """What the models are scored on, and every grading choice that moves the score."""

    # toy (exact pass@1 by teacher forcing, pass@k by sampling) | lcb | humaneval | jsonl (a local
    # file in LiveCodeBench's schema)
    name: str = "toy"
    path: str | None = None  # local LCB-schema JSONL file/dir (lcb: None = the HF hub release)
    version: str = "v6"  # lcb: v6 (2025-02..05, 131) | v5 (2024-08..2025-01, 374) | custom | all
    start: str | None = None  # version=custom: first contest date kept, YYYY-MM-DD
    end: str | None = None  # version=custom: first date no longer kept
    tests: str = "private"  # private (official code) | public+private
    difficulty: list[str] | None = None  # e.g. [hard]; None = all
    extract: str | None = None  # last (official) | first | none; None: last, humaneval: none
    timeout_s: float = 6.0  # per test (official: 6 s)
    memory_mb: int = 1024
    isolation: str | None = None  # auto | bwrap | rlimits; None = $SSD_SANDBOX or auto
    workers: int | None = keyed(KeyRole.RUNTIME, None)  # grading processes; None = CPU count


@dataclass
class EvalConfig:
    """Decoding the models at T_eval and scoring them."""

    temperature: float | None = keyed(
        KeyRole.PIPELINE, None
    )  # T_eval for one cell of a sweep; overrides `temperatures`
    temperatures: list[float] = keyed(
        KeyRole.PIPELINE,
        default_factory=lambda: [0.2, 0.4, 0.6, 0.8, 1.0, 1.2, 1.4, 1.6, 1.8, 2.0],
    )
    top_k: int = 0
    top_p: float = 1.0
    n_samples: int = 32  # samples per problem for pass@k
    k: list[int] = field(default_factory=lambda: [1, 8])
    max_new_tokens: int = 16
    batch_size: int = keyed(KeyRole.RUNTIME, 256)
    benchmark: BenchmarkConfig = field(default_factory=BenchmarkConfig)
    checkpoints: Any = keyed(
        KeyRole.PIPELINE, "final"
    )  # final | all | [steps]: which finetune checkpoints to evaluate
    selection: str = keyed(
        KeyRole.PIPELINE, "test"
    )  # test (the paper's) | validation: choose checkpoint and T_eval on
    #                          a held-out split of the problems, report on the rest
    validation_fraction: float = keyed(
        KeyRole.PIPELINE, 0.5
    )  # share of problems in the validation split
    split_seed: int = keyed(KeyRole.PIPELINE, 0)  # which problems go to validation


@dataclass
class AnalyzeConfig:
    """Stage `analyze`: fork/lock statistics of the final SSD model vs its base (ssd/analyze.py).

    Each position of the kept SSD samples, teacher-forced through both models, is a lock or a fork
    by the size of the base's (T_train, top-k, top-p) support; T_eval grid and eval truncation
    come from `eval`. Every sweep cell then carries lock distractor mass, fork entropy and mean
    support size in results.json (replicates[i].fork_lock).
    """

    enabled: bool | None = keyed(
        KeyRole.PIPELINE, None
    )  # null: on for the toy, off for real models (opt in: true)
    max_contexts: int = 256  # the first N kept samples are the shared contexts
    max_tokens: int = 4096  # cut longer prompt+completion contexts
    batch_size: int = keyed(KeyRole.RUNTIME, 8)  # contexts per forward pass
    chunk_tokens: int = keyed(
        KeyRole.RUNTIME, 256
    )  # positions per logits chunk: memory ~ chunk x vocab x 8 B x ~8
    device: str = keyed(KeyRole.RUNTIME, "auto")  # auto (cuda when available) | cpu | cuda:N
    plots: bool = keyed(
        KeyRole.RUNTIME, True
    )  # fork_lock.png + eval_truncation.png in the stage folder


@dataclass
class LoggerConfig:
    name: str = keyed(KeyRole.RUNTIME, "wandb")  # wandb | csv | none
    project: str = keyed(KeyRole.RUNTIME, "ssd-sweeps")
    mode: str = keyed(
        KeyRole.RUNTIME, "auto"
    )  # auto: online with an API key, offline without; offline | online
    group: str | None = keyed(KeyRole.RUNTIME, None)


@dataclass
class PathsConfig:
    cache_dir: str = keyed(
        KeyRole.RUNTIME, "outputs/cache"
    )  # content-addressed stage outputs; share it across jobs
    output_dir: str | None = keyed(
        KeyRole.RUNTIME, None
    )  # this run's files; None = the Hydra run directory


@dataclass
class Config:
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    sampling: SamplingConfig = field(default_factory=SamplingConfig)
    filter: FilterConfig = field(default_factory=FilterConfig)
    finetune: FinetuneConfig = field(default_factory=FinetuneConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    analyze: AnalyzeConfig = field(default_factory=AnalyzeConfig)
    logger: LoggerConfig = keyed(KeyRole.RUNTIME, default_factory=LoggerConfig)
    paths: PathsConfig = keyed(KeyRole.RUNTIME, default_factory=PathsConfig)
    toy: ToyTaskConfig = field(default_factory=ToyTaskConfig)
    replicates: int = keyed(
        KeyRole.PIPELINE, 3
    )  # independent seeds of sample -> finetune -> eval, for the spread
    rounds: int = keyed(
        KeyRole.PIPELINE, 1
    )  # SSD rounds: round r samples from round r-1's fine-tuned model
    name: str = keyed(KeyRole.RUNTIME, "ssd")  # free label for the run (W&B run name prefix)


def register_configs() -> None:
    """Make the schema the base of `conf/config.yaml` (its defaults list names `schema`)."""
    ConfigStore.instance().store(name="schema", node=Config)


def eval_temperatures(cfg: Any) -> list[float]:
    """The T_eval grid of this run: `eval.temperature` alone when set, else `eval.temperatures`."""
    if cfg.eval.temperature is not None:
        return [float(cfg.eval.temperature)]
    return [float(t) for t in cfg.eval.temperatures]
