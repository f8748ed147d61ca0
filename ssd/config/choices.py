"""The allowed values of every choice field, listed once: the schema, validation and tests read them.

A field whose values are identifiers is an Enum, so OmegaConf refuses a bad value at compose time
with the allowed list; the others (`32-true`, `public+private`, `cuda:N`) stay `str` and
`ssd.config.rules` checks them against `STR_CHOICES`. Nothing here imports torch or Hydra.
"""

from __future__ import annotations

import re
from enum import Enum


class Choice(str, Enum):
    """A choice that behaves as its value everywhere a plain string did.

    The `str` mixin makes a member compare, json-encode and concatenate as its value. Names equal
    values, so a member hashes as its plain string (a dict key, a set) whether `str.__hash__` or
    `Enum.__hash__` (which hashes the name) applies. The overrides make f-strings, `str()` and
    error messages print `hf`, not `Backend.hf`.
    """

    def __str__(self) -> str:
        return self.value

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)

    def __repr__(self) -> str:
        return repr(self.value)


class ModelKind(Choice):
    toy = "toy"  # a tiny Qwen3 built from config and fit locally (stage `base`)
    hf = "hf"  # an HF hub id or local directory, used as is


class Dtype(Choice):
    float32 = "float32"  # exact, twice the memory: tiny CPU models
    bfloat16 = "bfloat16"  # real models on GPU
    float16 = "float16"  # older GPUs without bf16; can overflow
    auto = "auto"  # the checkpoint's own dtype (gpt-oss: keeps its MXFP4 experts)


class DataKind(Choice):
    toy = "toy"  # each toy instance named data.copies_per_instance times
    jsonl = "jsonl"  # a local file of {"question", "starter_code"?, "id"?} rows
    rstar = "rstar"  # rStar-Coder's seed problems (hub, or a local file in its schema)
    tinycode = "tinycode"  # generated tiny-code tasks, disjoint from the tinycode benchmark


class PromptFormat(Choice):
    raw = "raw"  # the prompt text as is, no chat template (the official code)
    chat = "chat"  # the tokenizer's chat template: system message + problem as user turn (paper)


class PromptTemplate(Choice):
    plain = "plain"  # the problem statement (+ starter code)
    lcb = "lcb"  # the official code's LiveCodeBench wording


class Backend(Choice):
    hf = "hf"  # batched HF generate, CPU or GPU
    vllm = "vllm"  # GPU clusters, far faster on long outputs; pip install '.[vllm]'


class LossNorm(Choice):
    # the sum of completion-token cross-entropies / completion tokens in the whole optimizer
    # step (all micro-batches and devices): every token weighs the same, whatever the split
    token_mean = "token_mean"
    # the paper's equation, the plain sum: its gradient scales with the step's token count, so
    # grad_clip is nearly always active and the lr means something else
    sum = "sum"


class Batching(Choice):
    # sort megabatches by length, shuffle the buckets (seeded): padding <= 10% of computed tokens
    length_grouped = "length_grouped"
    random = "random"  # a plain shuffle: more padding


class Strategy(Choice):
    auto = "auto"  # Lightning's choice for the devices
    ddp = "ddp"  # a full model copy per device
    fsdp = "fsdp"  # sharded model; the full HF export is gathered on rank 0
    deepspeed = "deepspeed"  # ZeRO-2


class Benchmark(Choice):
    toy = "toy"  # exact pass@1 by teacher forcing, pass@k by sampling
    lcb = "lcb"  # LiveCodeBench (hub release, or eval.benchmark.path)
    humaneval = "humaneval"
    jsonl = "jsonl"  # a local file in LiveCodeBench's schema
    tinycode = "tinycode"  # generated small Python function tasks (ssd/tinycode), sandbox-graded
    mbpp = "mbpp"  # MBPP's full release, test split (task_ids 11-510): mbpp.jsonl or the hub
    mbpp_sanitized = "mbpp_sanitized"  # MBPP's sanitized release, test split: sanitized-mbpp.json
    humaneval_plus = "humaneval_plus"  # EvalPlus HumanEval+: HumanEvalPlus.jsonl.gz or the hub
    mbpp_plus = "mbpp_plus"  # EvalPlus MBPP+: MbppPlus.jsonl.gz or the hub


class LcbVersion(Choice):
    v6 = "v6"  # 2025-02..05, 131 problems (the paper's)
    v5 = "v5"  # 2024-08..2025-01, 374 problems
    custom = "custom"  # contest dates in [eval.benchmark.start, eval.benchmark.end)
    all = "all"  # every problem of the release


class Extract(Choice):
    last = "last"  # the last fenced code block (the official evaluator)
    first = "first"  # the first fenced code block
    none = "none"  # the completion as is


class Grader(Choice):
    # the project's grader: documented differences from the official ones (README, grading modes)
    strict = "strict"
    ml_ssd = "ml_ssd"  # verdict for verdict apple/ml-ssd's released LCB evaluator (the paper's)
    lcb = "lcb"  # verdict for verdict LiveCodeBench's lcb_runner


class Isolation(Choice):
    auto = "auto"  # bwrap where it works, else rlimits
    bwrap = "bwrap"  # bubblewrap: read-only /, no network, own PID namespace
    rlimits = "rlimits"  # resource limits only: the program can write files and use the network


class Difficulty(Choice):
    easy = "easy"
    medium = "medium"
    hard = "hard"


class Selection(Choice):
    # choose checkpoint and T_eval on the reported problems (the paper's practice): optimistic
    test = "test"
    # choose them on a held-out split of the problems, report on the rest: honest, fewer problems
    validation = "validation"


class LoggerName(Choice):
    wandb = "wandb"  # Weights & Biases
    csv = "csv"  # metrics.csv in the run directory
    none = "none"


class LoggerMode(Choice):
    auto = "auto"  # online with an API key, offline without (never prompts)
    offline = "offline"  # files under the run dir; `wandb sync` later
    online = "online"


# Choice fields whose values are not identifiers, by dotted key. An entry ending in ":N" allows
# that prefix followed by any number (cuda:0, cuda:1, ...).
STR_CHOICES: dict[str, tuple[str, ...]] = {
    # auto: 32-true on CPU, bf16-mixed on GPU; bf16-true also keeps the weights in bf16 (less
    # memory, less precise updates)
    "finetune.precision": ("auto", "32-true", "bf16-mixed", "bf16-true"),
    # private: the official code's tests; public+private: the public examples too
    "eval.benchmark.tests": ("private", "public+private"),
    # auto: cuda when available
    "analyze.device": ("auto", "cpu", "cuda", "cuda:N"),
}

# eval.checkpoints: one of these words, or a list of saved steps.
CHECKPOINT_WORDS: tuple[str, ...] = ("final", "all")


def allows(allowed: tuple[str, ...], value: object) -> bool:
    """Whether `value` is one of `allowed` (an `X:N` entry matches X: and a number)."""
    text = str(value)
    return any(
        text == a or (a.endswith(":N") and re.fullmatch(re.escape(a[:-1]) + r"\d+", text))
        for a in allowed
    )


def listed(allowed: tuple[str, ...] | type[Choice]) -> str:
    """`allowed` as the comma-separated list error messages show."""
    values = [m.value for m in allowed] if isinstance(allowed, type) else list(allowed)
    return ", ".join(values)
