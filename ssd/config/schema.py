"""Typed schemas for every config group, registered with Hydra: the one place defaults live.

The dataclasses make Hydra reject an unknown key, a wrong type or (Enum fields, ssd/config/choices.py)
a value outside the allowed list at compose time; the YAML options under conf/ state only what
differs from these defaults. Cross-field rules live in ssd/validation.py. No torch here.
"""

from __future__ import annotations

from dataclasses import MISSING, dataclass, field
from enum import Enum
from typing import Any

from hydra.core.config_store import ConfigStore

from ssd.config.choices import (
    Backend,
    Batching,
    Benchmark,
    DataKind,
    Difficulty,
    Dtype,
    Extract,
    Grader,
    Isolation,
    LcbVersion,
    LoggerMode,
    LoggerName,
    LossNorm,
    ModelKind,
    PromptFormat,
    PromptTemplate,
    Selection,
    Strategy,
)


class ConfigError(ValueError):
    """A config or input value that cannot run; the message is the one line shown to the user."""


def require(ok: bool, key: str, value: Any, allowed: str) -> None:
    """Raise the one-line `KEY=VALUE is invalid: ALLOWED` ConfigError unless `ok`."""
    if not ok:
        raise ConfigError(f"{key}={value!r} is invalid: {allowed}")


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
OMIT_AT_DEFAULT = "omit_at_default"  # metadata of `added` fields (see `added`)


def keyed(role: KeyRole, default: Any = MISSING, *, default_factory: Any = MISSING) -> Any:
    """A schema field with a non-default KeyRole (see KeyRole for what each one means)."""
    if default_factory is not MISSING:
        return field(default_factory=default_factory, metadata={ROLE: role})
    return field(default=default, metadata={ROLE: role})


def added(default: Any = MISSING, *, default_factory: Any = MISSING) -> Any:
    """A RESULT field added after stage keys were pinned: in no key while it holds its default.

    The default must reproduce the behaviour from before the field existed; then every existing
    cache key (and so every cached checkpoint) stays valid, and any other value moves the keys of
    the stages that read it. A default that changes behaviour needs a STAGE_VERSIONS bump instead.
    """
    meta = {ROLE: KeyRole.RESULT, OMIT_AT_DEFAULT: True}
    if default_factory is not MISSING:
        return field(default_factory=default_factory, metadata=meta)
    return field(default=default, metadata=meta)


@dataclass
class ToyTaskConfig:
    """The embedded fork/lock token language (ssd/toy/task.py); shared by model, data and eval."""

    n_instances: int = 8  # problems; each prompt names one
    n_forks: int = 2  # fork states per solution (2-3 valid next tokens each)
    locks_per_fork: int = 2  # lock states after each fork (one valid token)
    n_content_tokens: int = 16  # toy alphabet size, besides EOS
    hard_lock_fraction: float = 0.3  # locks where one wrong token competes
    trap_fork_fraction: float = 0.7  # forks whose single most likely token is wrong
    lock_valid_mass: float = 0.9  # reference p(valid) at an easy lock
    hard_lock_valid_mass: float = 0.55  # reference p(valid) at a hard lock
    hard_lock_competitor_mass: float = 0.3  # reference p(the one competing wrong token)
    fork_valid_mass: float = 0.75  # total reference mass of the valid tokens at a fork
    trap_fork_valid_mass: float = 0.55  # the same at a trap fork
    trap_ratio: float = 1.5  # trap token mass / the largest valid token's mass
    tail_ratio: float = 0.6  # geometric decay of the distractor tail
    seed: int = 1234  # which language: valid tokens and distributions


@dataclass
class BaseFitConfig:
    """Fitting the toy base model to samples of the noisy reference distribution (stage `base`)."""

    n_sequences: int = 4096  # reference samples the base is fit to: fewer = a noisier base
    max_steps: int = 300  # optimizer steps
    batch_size: int = 64  # sequences per step
    lr: float = 3e-3  # peak AdamW learning rate (cosine down to lr/10)
    seed: int = 0  # which reference samples and initial weights


@dataclass
class ModelConfig:
    """The frozen base model SSD samples from and fine-tunes (by default the toy, fit locally)."""

    name: str = keyed(KeyRole.RUNTIME, "toy")  # label of the option (run names, reports)
    kind: ModelKind = ModelKind.toy  # where the weights come from
    path: str | None = None  # HF hub id or local directory (kind=hf)
    # weights' dtype: bfloat16 halves memory on GPU; float32 only pays off for tiny CPU models
    dtype: Dtype = Dtype.float32
    # run the checkpoint's own modelling code; not needed for models transformers and vLLM support
    trust_remote_code: bool = keyed(KeyRole.RUNTIME, False)
    # tokens of prompt + completion; vLLM's max_model_len unless sampling.vllm.max_model_len;
    # at most the model's own (more costs KV-cache memory)
    max_context: int = 4096
    # Extra variables for the chat template, e.g. gpt-oss {reasoning_effort: high}.
    chat_template_kwargs: dict[str, Any] = field(default_factory=dict)
    # The toy architecture (kind=toy), a Qwen3 config: small enough to fit in ~20 s on 2 CPU
    # cores, big enough to read its context.
    hidden_size: int = 64
    num_layers: int = 2
    num_heads: int = 4
    head_dim: int = 16
    intermediate_size: int = 128
    base_fit: BaseFitConfig = field(default_factory=BaseFitConfig)  # kind=toy only


@dataclass
class PromptConfig:
    """How a problem becomes the model's input (ssd/generation/prompts.py)."""

    format: PromptFormat = PromptFormat.raw  # chat template or not
    template: PromptTemplate = PromptTemplate.plain  # the wording around the problem
    system_message: str | None = None  # format=chat only; None = no system turn


@dataclass
class DataConfig:
    """The prompt pool SSD samples from (by default the toy's)."""

    name: str = keyed(KeyRole.RUNTIME, "toy")  # label of the option (run names, reports)
    kind: DataKind = DataKind.toy  # where the prompts come from
    # jsonl: the file (required). rstar: local parquet/JSONL file(s) in the seed_sft schema
    # instead of the hub dataset (offline, tests).
    path: str | None = None
    # rstar: hub id or a local snapshot directory, loaded with datasets.load_dataset
    hf_dataset: str = "microsoft/rStar-Coder"
    hf_config: str = "seed_sft"  # rstar: the dataset config (the seed problems)
    split: str = "train"  # rstar: the dataset split
    # rstar: exact de-dup on the whitespace-normalised question (paper: true, ~10k problems;
    # the official code keeps every row, ~592k)
    dedup: bool = False
    # toy: prompts per instance; 8 x 128 = 1024 SSD samples, enough for the student to approach
    # its target (fewer: faster, noisier)
    copies_per_instance: int = 128
    limit: int | None = None  # keep the first N prompts (after de-dup); None = all
    # a pool sharing problems with the evaluation set (normalised-text match) is refused before
    # compute (ssd/contamination.py); true = run anyway; None = allowed only for the toy, whose
    # pool names the evaluated instances by design
    allow_eval_overlap: bool | None = keyed(KeyRole.RUNTIME, None)
    prompt: PromptConfig = field(default_factory=PromptConfig)


@dataclass
class VLLMConfig:
    """Engine settings of the `vllm` backend; they do not change which samples are drawn."""

    tensor_parallel_size: int = 1  # GPUs one engine shards the model over (30B models: more)
    # share of each GPU's memory vLLM may claim (weights + KV cache); lower it to share the GPU
    gpu_memory_utilization: float = 0.9
    max_model_len: int | None = None  # prompt + completion tokens; None = model.max_context
    enforce_eager: bool = False  # skip CUDA graphs: starts faster, less memory, slower decode
    max_num_seqs: int | None = None  # concurrent sequences; None = vLLM's default


@dataclass
class SamplingConfig:
    """Drawing the SSD training samples from the frozen base: ONE per prompt at (T_train, k, p)."""

    temperature: float = 1.0  # T_train; 0 = greedy
    top_k: int = 0  # keep the k most likely tokens; 0 = off
    # nucleus mass kept; this truncation is what removes the lock positions' distractor tails
    top_p: float = 0.8
    n_per_prompt: int = 1  # completions per prompt (the paper's N = 1)
    max_new_tokens: int = 16  # completion tokens per sample; longer outputs are cut
    seed: int = keyed(KeyRole.PIPELINE, 0)  # first replicate's seed; replicate r uses seed + r
    backend: Backend = Backend.hf  # which engine draws the samples
    # hf: rows per generate call (more = faster until memory runs out); vllm batches itself
    batch_size: int = keyed(KeyRole.RUNTIME, 128)
    # How the work is split; none of these changes the samples (or the stage's key):
    # prompts per shard file: the unit a killed stage resumes from
    shard_size: int = keyed(KeyRole.SPLIT, 256)
    # SLURM array tasks splitting one pool; task i does shards i, i+N, ...
    # (sampling.num_shards=8 sampling.shard_id=$SLURM_ARRAY_TASK_ID)
    num_shards: int = keyed(KeyRole.SPLIT, 1)
    # this task's index; None = compute every missing shard, then merge
    shard_id: int | None = keyed(KeyRole.SPLIT, None)
    vllm: VLLMConfig = keyed(KeyRole.RUNTIME, default_factory=VLLMConfig)


@dataclass
class FilterConfig:
    """Which samples are kept for fine-tuning (by default only empty outputs are dropped)."""

    name: str = keyed(KeyRole.RUNTIME, "empty")  # label of the option (run names, reports)
    drop_empty: bool = True  # the paper and the official code both drop empty outputs
    # drop outputs with at most this many non-blank lines (paper: 1; the toy's solutions are one
    # line, so 1 would drop them all)
    stub_max_lines: int = 0
    drop_degenerate: bool = False  # drop repetition loops and length-capped outputs (paper: keep)
    # drop exact duplicate completions of the same prompt (only matters with n_per_prompt > 1:
    # identical samples would up-weight one answer); the same text under other prompts stays
    dedup: bool = False
    shortest_percent: float = 0.0  # then drop the shortest P% by characters (official code: 10)
    # stop instead of training on (almost) nothing: the least share of samples that must survive
    min_kept_fraction: float = keyed(KeyRole.RUNTIME, 0.05)


@dataclass
class LoraConfig:
    """LoRA adapters via peft; the exported checkpoints are merged (plain HF weights)."""

    enabled: bool = False  # true: train adapters (less memory) instead of every weight
    r: int = 16  # adapter rank: more capacity, more memory
    alpha: float = 32.0  # the adapters' scale is alpha / r
    dropout: float = 0.05  # on the adapters' input
    # [all-linear] = every linear layer but the output head
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
    )


@dataclass
class FinetuneConfig:
    """Plain SFT on the kept samples; loss on completion tokens only (ssd/sft/module.py).

    Toy-sized: a high lr and few steps; the paper's recipe (lr 5e-6 -> 1e-6, warmup 250, 2500
    steps, global batch 32, save every 250) is in conf/experiment/.
    """

    lr: float = 1e-3  # peak learning rate (AdamW), after warmup
    min_lr: float = 1e-4  # cosine floor
    warmup_steps: int = 5  # linear warmup, in optimizer steps
    max_steps: int | None = 300  # optimizer steps; None to train by `epochs`
    epochs: float | None = None  # passes over the kept samples (needs max_steps=None)
    # rows per device per micro-batch; lower it when memory is short, accumulation makes up for it
    batch_size: int = 32
    # rows per optimizer step, on any cluster shape:
    #   accumulation = global_batch_size / (batch_size * devices * num_nodes)
    global_batch_size: int = 32
    weight_decay: float = 0.1  # AdamW's decoupled weight decay
    betas: list[float] = field(default_factory=lambda: [0.9, 0.95])  # AdamW's (beta1, beta2)
    grad_clip: float = 1.0  # max global grad norm (before the step); 0 = off
    max_seq_len: int = 4096  # longer prompt+completion rows are cut (counted as n_truncated)
    loss_norm: LossNorm = LossNorm.token_mean  # how the step's token losses are combined
    batching: Batching = Batching.length_grouped  # how rows are grouped into batches
    length_group_batches: int = 64  # batches per length-sorted megabatch; 0 = the whole pass
    precision: str = "auto"  # Lightning precision; allowed: choices.STR_CHOICES
    # recompute activations in backward: less memory, ~30% slower
    gradient_checkpointing: bool = keyed(KeyRole.RUNTIME, False)
    strategy: Strategy = Strategy.auto  # how devices share the model
    devices: int = 1  # per node; > 1 trains in a worker (python -m ssd.sft.worker JOB.json)
    num_nodes: int = 1  # > 1: the worker is started by srun inside the SLURM allocation
    accelerator: str = keyed(KeyRole.RUNTIME, "auto")  # Lightning's accelerator (auto, cpu, gpu)
    # HF checkpoint (checkpoints/step-N/) + resume checkpoint every N steps; 0 = only the final
    # model (model/): less disk, nothing to evaluate in between or to resume from
    save_every: int = 50
    num_workers: int = keyed(KeyRole.RUNTIME, 0)  # DataLoader workers (collation is cheap)
    lora: LoraConfig = field(default_factory=LoraConfig)


@dataclass
class BenchmarkConfig:
    """What the models are scored on, and every grading choice that moves the score."""

    name: Benchmark = Benchmark.toy  # which problems
    path: str | None = None  # local LCB-schema JSONL file/dir (lcb: None = the HF hub release)
    version: LcbVersion = LcbVersion.v6  # lcb: which release window
    start: str | None = None  # version=custom: first contest date kept, YYYY-MM-DD
    end: str | None = None  # version=custom: first date no longer kept
    # which test cases grade; allowed: choices.STR_CHOICES; None = the grader's rule (strict,
    # ml_ssd: private; lcb: public+private)
    tests: str | None = None
    # whose verdict rules (ssd/codeeval/rules.py): extraction, tests, comparison, timeouts;
    # strict = the project's, ml_ssd = the paper's released evaluator (paper presets), lcb = lcb_runner
    grader: Grader = Grader.strict
    # refuse to run unless the loaded problem set has exactly this many problems (None = any)
    expected_problems: int | None = None
    # ... and exactly this many per difficulty, e.g. {easy: 31, medium: 39, hard: 61}
    expected_difficulty: dict[str, int] | None = None
    difficulty: list[Difficulty] | None = None  # e.g. [hard]; None = all
    extract: Extract | None = None  # which code is graded; None: the grader's rule, humaneval: none
    timeout_s: float = 6.0  # seconds per test (official: 6): lower is faster, fails slow code
    memory_mb: int = 1024  # address-space limit per test run
    isolation: Isolation | None = None  # the sandbox; None = $SSD_SANDBOX or auto
    workers: int | None = keyed(KeyRole.RUNTIME, None)  # grading processes; None = CPU count


@dataclass
class EvalConfig:
    """Decoding the models at T_eval and scoring them."""

    # T_eval for one cell of a sweep; overrides `temperatures`
    temperature: float | None = keyed(KeyRole.PIPELINE, None)
    # the T_eval grid of a run: every point is one more evaluation pass per model
    temperatures: list[float] = keyed(
        KeyRole.PIPELINE,
        default_factory=lambda: [0.2, 0.4, 0.6, 0.8, 1.0, 1.2, 1.4, 1.6, 1.8, 2.0],
    )
    top_k: int = 0  # eval truncation: keep the k most likely tokens; 0 = off
    top_p: float = 1.0  # eval truncation: nucleus mass kept; 1.0 = off
    # samples per problem for pass@k (pass@1 on the toy is exact): more = a tighter estimate,
    # proportionally more compute
    n_samples: int = 32
    k: list[int] = field(default_factory=lambda: [1, 8])  # the pass@k reported; max <= n_samples
    max_new_tokens: int = 16  # completion tokens per sample; longer outputs are cut
    batch_size: int = keyed(KeyRole.RUNTIME, 256)  # rows per generate call
    benchmark: BenchmarkConfig = field(default_factory=BenchmarkConfig)
    # which finetune checkpoints to evaluate: choices.CHECKPOINT_WORDS or a list of saved steps
    checkpoints: Any = keyed(KeyRole.PIPELINE, "final")
    # which problems choose the checkpoint and T_eval that are reported
    selection: Selection = keyed(KeyRole.PIPELINE, Selection.test)
    # share of problems in the validation split (selection=validation)
    validation_fraction: float = keyed(KeyRole.PIPELINE, 0.5)
    split_seed: int = keyed(KeyRole.PIPELINE, 0)  # which problems go to validation


@dataclass
class AnalyzeConfig:
    """Stage `analyze`: fork/lock statistics of the final SSD model vs its base (stages/analyze.py).

    Each position of the kept SSD samples, teacher-forced through both models, is a lock
    (|S_s| = 1) or a fork by the size of the base's (T_train, top-k, top-p) support; T_eval grid
    and eval truncation come from `eval`. Every sweep cell then carries lock distractor mass, fork
    entropy and mean support size in results.json (replicates[i].fork_lock). A real model opts in
    with analyze.enabled=true (one extra forward pass of both models over max_contexts samples);
    on a GPU add analyze.device=cuda and keep model.dtype=bfloat16.
    """

    # None: on for the toy, off for real models (opt in: true)
    enabled: bool | None = keyed(KeyRole.PIPELINE, None)
    max_contexts: int = 256  # the first N kept samples are the shared contexts
    max_tokens: int = 4096  # longer contexts are cut (the analysis reads every position)
    batch_size: int = keyed(KeyRole.RUNTIME, 8)  # contexts per forward pass
    # positions per logits chunk: memory ~ chunk x vocab x 8 B x ~8 (256 x 152k vocab ~ 2.5 GB on
    # top of the two models)
    chunk_tokens: int = keyed(KeyRole.RUNTIME, 256)
    device: str = keyed(KeyRole.RUNTIME, "auto")  # where both models run; choices.STR_CHOICES
    plots: bool = keyed(KeyRole.RUNTIME, True)  # fork_lock.png + eval_truncation.png in the stage


@dataclass
class LoggerConfig:
    """Where metrics go (by default W&B, offline without an API key)."""

    name: LoggerName = keyed(KeyRole.RUNTIME, LoggerName.wandb)  # the tracker
    project: str = keyed(KeyRole.RUNTIME, "ssd-sweeps")  # W&B project
    mode: LoggerMode = keyed(KeyRole.RUNTIME, LoggerMode.auto)  # W&B online or offline
    group: str | None = keyed(KeyRole.RUNTIME, None)  # W&B group; None = the sweep's own


@dataclass
class PathsConfig:
    """Where stage outputs and this run's files are written."""

    # content-addressed stage outputs; share it across jobs so they reuse each other's stages
    cache_dir: str = keyed(KeyRole.RUNTIME, "outputs/cache")
    # this run's files; None = the Hydra run directory
    output_dir: str | None = keyed(KeyRole.RUNTIME, None)
    # how much of a cached stage is checked before reuse: "sizes" (every file's size, and the hash
    # of files up to 16 MiB; cheap) or "full" (every file's sha256: reads checkpoints too)
    verify: str = keyed(KeyRole.RUNTIME, "sizes")
    # a damaged cached stage is moved to <cache_dir>/.damaged/ and recomputed; false: stop (exit 2)
    recompute_damaged: bool = keyed(KeyRole.RUNTIME, True)
    # shared group of the cache (name or gid): folders get it and the setgid bit; None = as made
    group: str | None = keyed(KeyRole.RUNTIME, None)
    # estimate what the run writes before compute and refuse when the cache's disk cannot hold it
    check_space: bool = keyed(KeyRole.RUNTIME, True)


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
    # independent seeds of sample -> finetune -> eval, for the spread: each costs a full run
    replicates: int = keyed(KeyRole.PIPELINE, 3)
    # SSD rounds: round r samples from round r-1's fine-tuned model
    rounds: int = keyed(KeyRole.PIPELINE, 1)
    name: str = keyed(KeyRole.RUNTIME, "ssd")  # free label for the run (W&B run name prefix)
    # torch's CPU threads for this process and the workers it starts; None = torch's default (one
    # per core). Set 1 when other jobs share the cores: a tiny model's intra-op threads then wait
    # on each other and its stages ran ~10x slower on 2 threads with one core busy elsewhere.
    cpu_threads: int | None = keyed(KeyRole.RUNTIME, None)


def register_configs() -> None:
    """Make the schema the base of `conf/config.yaml` (its defaults list names `schema`)."""
    ConfigStore.instance().store(name="schema", node=Config)


def eval_temperatures(cfg: Any) -> list[float]:
    """The T_eval grid of this run: `eval.temperature` alone when set, else `eval.temperatures`."""
    if cfg.eval.temperature is not None:
        return [float(cfg.eval.temperature)]
    return [float(t) for t in cfg.eval.temperatures]
