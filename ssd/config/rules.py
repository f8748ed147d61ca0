"""The allowed range or set of every schema field, by dotted key: one table, checked before compute.

`check_rules(cfg)` walks `RULES` and raises `ConfigError` ("KEY=VALUE is invalid: ALLOWED") on the
first violation; cross-field rules stay in ssd/validation.py. Every float must be finite.
tests/ssd/config/test_rules.py fails when a schema field has no entry here. No torch, no Hydra.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf

from ssd.config import choices as c
from ssd.config.schema import ConfigError


class Rule:
    """One field's constraint: `problem(value)` is None when allowed, else what is allowed."""

    def problem(self, value: Any) -> str | None:
        raise NotImplementedError


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


@dataclass(frozen=True)
class Range(Rule):
    """A finite number in [lo, hi] (either end open, or None = unbounded); `integer` for ints."""

    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    hi_open: bool = False
    integer: bool = False

    def describe(self) -> str:
        if self.hi is None:
            return f"must be {'>' if self.lo_open else '>='} {self.lo:g}"
        if self.lo is None:
            return f"must be {'<' if self.hi_open else '<='} {self.hi:g}"
        left, right = "(" if self.lo_open else "[", ")" if self.hi_open else "]"
        return f"must be in {left}{self.lo:g}, {self.hi:g}{right}"

    def problem(self, value: Any) -> str | None:
        kind = "an integer" if self.integer else "a finite number"
        if not _is_number(value) or (self.integer and not isinstance(value, int)):
            return f"{kind}: {self.describe()}"
        if not math.isfinite(value):
            return f"{self.describe()} (a finite number)"
        low = self.lo is None or (value > self.lo if self.lo_open else value >= self.lo)
        high = self.hi is None or (value < self.hi if self.hi_open else value <= self.hi)
        return None if low and high else self.describe()


def Int(lo: int | None = 0) -> Range:  # noqa: N802 - reads as a type in the table
    """An integer >= lo (the common case: counts, sizes, seeds)."""
    return Range(lo, integer=True)


@dataclass(frozen=True)
class OneOf(Rule):
    """One of a fixed set of values (an Enum's, or `STR_CHOICES`' with their `X:N` entries)."""

    allowed: tuple[str, ...]

    @classmethod
    def of(cls, enum: type[Enum]) -> OneOf:
        return cls(tuple(m.value for m in enum))

    def problem(self, value: Any) -> str | None:
        ok = isinstance(value, str) and c.allows(self.allowed, value)
        return None if ok else f"one of {c.listed(self.allowed)}"


@dataclass(frozen=True)
class Bool(Rule):
    """true or false (Hydra checks it at compose time; here for configs built another way)."""

    def problem(self, value: Any) -> str | None:
        return None if isinstance(value, bool) else "true or false"


@dataclass(frozen=True)
class Str(Rule):
    """Any string; `non_empty` for labels, ids and names; `pattern` for a fixed format."""

    non_empty: bool = True
    pattern: str | None = None
    what: str = "a non-empty string"

    def problem(self, value: Any) -> str | None:
        if not isinstance(value, str) or (self.non_empty and not value.strip()):
            return self.what
        if self.pattern and not re.fullmatch(self.pattern, value):
            return self.what
        return None


@dataclass(frozen=True)
class Dir(Rule):
    """A directory to write to: non-empty, and neither it nor an existing parent is a file."""

    def problem(self, value: Any) -> str | None:
        if not isinstance(value, str) or not value.strip():
            return "a non-empty directory path"
        path = Path(value).expanduser()
        for candidate in (path, *path.parents):
            if candidate.exists():
                return None if candidate.is_dir() else f"a directory path ({candidate} is a file)"
        return None


@dataclass(frozen=True)
class Optional(Rule):
    """None, or a value the inner rule allows (`say_none`: whether the message mentions None)."""

    inner: Rule
    say_none: bool = True

    def problem(self, value: Any) -> str | None:
        found = None if value is None else self.inner.problem(value)
        if found is None or not self.say_none:
            return found
        if found.startswith("must be "):
            return f"must be None or {found.removeprefix('must be ')}"
        return f"None or {found}"


@dataclass(frozen=True)
class ListOf(Rule):
    """A list whose every element the inner rule allows, of at least `min_len` (or exactly `length`)."""

    inner: Rule
    min_len: int = 0
    length: int | None = None

    def problem(self, value: Any) -> str | None:
        if not isinstance(value, Sequence) or isinstance(value, str):
            return "a list"
        if self.length is not None and len(value) != self.length:
            return f"a list of exactly {self.length} elements"
        if len(value) < self.min_len:
            return f"a list of at least {self.min_len} element(s)"
        for item in value:
            if (found := self.inner.problem(item)) is not None:
                return f"every element: {found} (not {item!r})"
        return None


@dataclass(frozen=True)
class DictOf(Rule):
    """A mapping whose keys and values the inner rules allow."""

    key: Rule
    value: Rule

    def problem(self, value: Any) -> str | None:
        if not isinstance(value, Mapping):
            return "a mapping"
        for k, v in value.items():
            if (found := self.key.problem(k)) is not None:
                return f"every key: {found} (not {k!r})"
            if (found := self.value.problem(v)) is not None:
                return f"every value: {found} (not {k}: {v!r})"
        return None


@dataclass(frozen=True)
class AnyOf(Rule):
    """Allowed when any of the rules allows it (eval.checkpoints: a word or a list of steps)."""

    rules: tuple[Rule, ...]

    def problem(self, value: Any) -> str | None:
        found = [r.problem(value) for r in self.rules]
        return None if None in found else " or ".join(str(f) for f in found)


@dataclass(frozen=True)
class AnyValue(Rule):
    """Anything YAML can hold (chat template variables are the template's business)."""

    def problem(self, value: Any) -> str | None:
        return None


UNIT = Range(0, 1)
FRACTION = Range(0, 1, lo_open=True)  # (0, 1]
POSITIVE = Range(0, lo_open=True)
NON_NEGATIVE = Range(0)
TEMPERATURE = Range(0)  # T: 0 = greedy
LABEL = Str()
DATE = Str(pattern=r"\d{4}-\d{2}-\d{2}", what="a date YYYY-MM-DD")
DIFFICULTY = OneOf.of(c.Difficulty)
ACCELERATORS = ("auto", "cpu", "gpu", "cuda", "mps", "tpu")


def _choice(key: str) -> OneOf:
    return OneOf(c.STR_CHOICES[key])


RULES: dict[str, Rule] = {
    # toy task language
    "toy.n_instances": Int(1),
    "toy.n_forks": Int(1),
    "toy.locks_per_fork": Int(0),
    "toy.n_content_tokens": Int(8),
    "toy.hard_lock_fraction": UNIT,
    "toy.trap_fork_fraction": UNIT,
    "toy.lock_valid_mass": FRACTION,
    "toy.hard_lock_valid_mass": FRACTION,
    "toy.hard_lock_competitor_mass": Range(0, 1, hi_open=True),
    "toy.fork_valid_mass": FRACTION,
    "toy.trap_fork_valid_mass": FRACTION,
    "toy.trap_ratio": POSITIVE,
    "toy.tail_ratio": FRACTION,
    "toy.seed": Int(0),
    # model
    "model.name": LABEL,
    "model.kind": OneOf.of(c.ModelKind),
    "model.path": Optional(Str()),
    "model.dtype": OneOf.of(c.Dtype),
    "model.trust_remote_code": Bool(),
    "model.max_context": Int(1),
    "model.chat_template_kwargs": DictOf(Str(), AnyValue()),
    "model.hidden_size": Int(1),
    "model.num_layers": Int(1),
    "model.num_heads": Int(1),
    "model.head_dim": Int(1),
    "model.intermediate_size": Int(1),
    "model.base_fit.n_sequences": Int(1),
    "model.base_fit.max_steps": Int(1),
    "model.base_fit.batch_size": Int(1),
    "model.base_fit.lr": POSITIVE,
    "model.base_fit.seed": Int(0),
    # data
    "data.name": LABEL,
    "data.kind": OneOf.of(c.DataKind),
    "data.path": Optional(Str()),
    "data.hf_dataset": Str(),
    "data.hf_config": Str(),
    "data.split": Str(),
    "data.dedup": Bool(),
    "data.copies_per_instance": Int(1),
    "data.limit": Optional(Int(1)),
    "data.allow_eval_overlap": Optional(Bool()),
    "data.prompt.format": OneOf.of(c.PromptFormat),
    "data.prompt.template": OneOf.of(c.PromptTemplate),
    "data.prompt.system_message": Optional(Str(non_empty=False, what="a string")),
    # sampling
    "sampling.temperature": TEMPERATURE,
    "sampling.top_k": Int(0),
    "sampling.top_p": FRACTION,
    "sampling.n_per_prompt": Int(1),
    "sampling.max_new_tokens": Int(1),
    "sampling.seed": Int(0),
    "sampling.backend": OneOf.of(c.Backend),
    "sampling.batch_size": Int(1),
    "sampling.shard_size": Int(1),
    "sampling.num_shards": Int(1),
    "sampling.shard_id": Optional(Int(0)),
    "sampling.vllm.tensor_parallel_size": Int(1),
    "sampling.vllm.gpu_memory_utilization": FRACTION,
    "sampling.vllm.max_model_len": Optional(Int(1)),
    "sampling.vllm.enforce_eager": Bool(),
    "sampling.vllm.max_num_seqs": Optional(Int(1)),
    # filter
    "filter.name": LABEL,
    "filter.drop_empty": Bool(),
    "filter.stub_max_lines": Int(0),
    "filter.drop_degenerate": Bool(),
    "filter.dedup": Bool(),
    "filter.shortest_percent": Range(0, 100, hi_open=True),
    "filter.min_kept_fraction": UNIT,
    # finetune
    "finetune.lr": POSITIVE,
    "finetune.min_lr": NON_NEGATIVE,
    "finetune.warmup_steps": Int(0),
    "finetune.max_steps": Optional(Int(1)),
    "finetune.epochs": Optional(POSITIVE),
    "finetune.batch_size": Int(1),
    "finetune.global_batch_size": Int(1),
    "finetune.weight_decay": NON_NEGATIVE,
    "finetune.betas": ListOf(Range(0, 1, hi_open=True), length=2),
    "finetune.grad_clip": NON_NEGATIVE,
    "finetune.max_seq_len": Int(2),  # at least one prompt and one completion token
    "finetune.loss_norm": OneOf.of(c.LossNorm),
    "finetune.batching": OneOf.of(c.Batching),
    "finetune.length_group_batches": Int(0),
    "finetune.precision": _choice("finetune.precision"),
    "finetune.gradient_checkpointing": Bool(),
    "finetune.strategy": OneOf.of(c.Strategy),
    "finetune.devices": Int(1),
    "finetune.num_nodes": Int(1),
    "finetune.accelerator": OneOf(ACCELERATORS),
    "finetune.save_every": Int(0),
    "finetune.num_workers": Int(0),
    "finetune.lora.enabled": Bool(),
    "finetune.lora.r": Int(1),
    "finetune.lora.alpha": POSITIVE,
    "finetune.lora.dropout": Range(0, 1, hi_open=True),
    "finetune.lora.target_modules": ListOf(Str(), min_len=1),
    # eval
    "eval.temperature": Optional(TEMPERATURE),
    "eval.temperatures": ListOf(TEMPERATURE, min_len=1),
    "eval.top_k": Int(0),
    "eval.top_p": FRACTION,
    "eval.n_samples": Int(1),
    "eval.k": ListOf(Int(1), min_len=1),
    "eval.max_new_tokens": Int(1),
    "eval.batch_size": Int(1),
    "eval.checkpoints": AnyOf((OneOf(c.CHECKPOINT_WORDS), ListOf(Int(1), min_len=1))),
    "eval.selection": OneOf.of(c.Selection),
    "eval.validation_fraction": Range(0, 1, lo_open=True, hi_open=True),
    "eval.split_seed": Int(0),
    "eval.benchmark.name": OneOf.of(c.Benchmark),
    "eval.benchmark.path": Optional(Str()),
    "eval.benchmark.version": OneOf.of(c.LcbVersion),
    "eval.benchmark.start": Optional(DATE),
    "eval.benchmark.end": Optional(DATE),
    "eval.benchmark.tests": Optional(_choice("eval.benchmark.tests"), say_none=False),
    "eval.benchmark.grader": OneOf.of(c.Grader),
    "eval.benchmark.expected_problems": Optional(Int(1)),
    "eval.benchmark.expected_difficulty": Optional(DictOf(DIFFICULTY, Int(0))),
    "eval.benchmark.difficulty": Optional(ListOf(DIFFICULTY, min_len=1)),
    "eval.benchmark.extract": Optional(OneOf.of(c.Extract)),
    "eval.benchmark.timeout_s": POSITIVE,
    "eval.benchmark.memory_mb": Int(1),
    "eval.benchmark.isolation": Optional(OneOf.of(c.Isolation)),
    "eval.benchmark.workers": Optional(Int(1)),
    # analyze
    "analyze.enabled": Optional(Bool()),
    "analyze.max_contexts": Int(1),
    "analyze.max_tokens": Int(1),
    "analyze.batch_size": Int(1),
    "analyze.chunk_tokens": Int(1),
    "analyze.device": _choice("analyze.device"),
    "analyze.plots": Bool(),
    # logger, paths, run
    "logger.name": OneOf.of(c.LoggerName),
    "logger.project": Str(),
    "logger.mode": OneOf.of(c.LoggerMode),
    "logger.group": Optional(Str()),
    "paths.cache_dir": Dir(),
    "paths.output_dir": Optional(Dir()),
    "paths.verify": OneOf(("sizes", "full")),
    "paths.recompute_damaged": Bool(),
    "paths.group": Optional(Str()),
    "paths.check_space": Bool(),
    "replicates": Int(1),
    "rounds": Int(1),
    "name": LABEL,
    "cpu_threads": Optional(Int(1)),
}


def _plain(value: Any) -> Any:
    """Containers as Python lists/dicts and Enum members as their values, so rules see plain data."""
    if isinstance(value, DictConfig | ListConfig):
        value = OmegaConf.to_container(value, resolve=True)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {_plain(k): _plain(v) for k, v in value.items()}
    return value


_ABSENT = object()


def check_rules(cfg: Any, rules: Mapping[str, Rule] = RULES) -> None:
    """Raise ConfigError for the first field outside its range or set (keys absent from cfg skip)."""
    for key, rule in rules.items():
        raw = OmegaConf.select(cfg, key, default=_ABSENT)
        if raw is _ABSENT:
            continue
        value = _plain(raw)
        if (found := rule.problem(value)) is not None:
            raise ConfigError(f"{key}={value!r} is invalid: {found}")
