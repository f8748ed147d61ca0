"""Typed results, from the evaluator to the sweep report: one definition of every results.json key.

An evaluation (`EvalResult`, the evaluate stage's results.json) has one `EvalRow` per T_eval; a
`Replicate` holds one seed's evaluations by label; a run's report (`RunSummary`, the `summary` of a
run's results.json) has per label a curve of `CurvePoint`s over seeds. `to_json()` writes and
`from_json()` reads exactly the keys those files carry, so the files in users' caches keep reading,
and a stray or missing key fails loudly instead of going unseen. Standard library only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# The fixed decoders every run evaluates; rounds > 1 add one `ssd_roundR` label each.
LABELS = ("base", "ssd_as_decoder", "ssd")


def _check_keys(kind: str, data: dict[str, Any], required: set[str], optional: set[str]) -> None:
    """A results file holds exactly the keys its type knows: drift is an error, not a default."""
    missing, unknown = required - set(data), set(data) - required - optional
    if missing or unknown:
        raise ValueError(f"{kind}: missing keys {sorted(missing)}, unknown keys {sorted(unknown)}")


def _pair(value: list[float] | None) -> tuple[float, float] | None:
    return None if value is None else (float(value[0]), float(value[1]))


def round_of(label: str) -> int:
    """`ssd` is round 1, `ssd_round3` round 3."""
    return 1 if label == "ssd" else int(label.removeprefix("ssd_round"))


def ordered_labels(labels: list[str]) -> list[str]:
    """The fixed labels, then one `ssd_roundR` per further SSD round, in round order."""
    rounds = sorted((k for k in labels if k.startswith("ssd_round")), key=round_of)
    return [*(k for k in LABELS if k in labels), *rounds]


def ssd_labels(labels: list[str]) -> list[str]:
    """The labels of fine-tuned models (`ssd`, `ssd_round2`, ...), in round order."""
    return [k for k in ordered_labels(labels) if k == "ssd" or k.startswith("ssd_round")]


@dataclass(frozen=True)
class EvalRequest:
    """What one evaluation takes (the input of every benchmark spec's `evaluate`)."""

    model: Any  # ssd.artifacts.ModelRef
    decoder: Any  # ssd.generation.decoding.Decoder; its temperature is replaced per T_eval
    temperatures: list[float]
    seed: int
    settings: Any  # ssd.config.schema.EvalConfig
    generation: Any  # ssd.generation.sampler.Generation
    task: Any  # the spec's task_settings (the toy's language; None for code benchmarks)
    out: Any  # pathlib.Path: where per-sample rows go
    label: str  # base, ssd_as_decoder, ssd, ...


@dataclass(frozen=True)
class EvalRow:
    """One model under one decoding rule at one T_eval.

    The per-problem numbers are kept, not only their mean, because selection re-scores a row on a
    subset of the problems (ssd/selection.py) without running the model again.
    """

    t_eval: float
    pass_at_1: float  # exact on the toy; the unbiased estimate on code benchmarks
    pass_at_1_ci95: tuple[float, float]  # bootstrap over problems
    pass_at_1_per_problem: list[float]  # exact (toy) or correct/n (code) per problem
    n_correct_per_problem: list[int]  # correct samples of eval.n_samples, for sampled pass@k
    sampled: dict[str, float]  # "pass@k" -> unbiased estimate from the samples
    by_difficulty: dict[str, dict[str, Any]] | None = None  # code: summary block per level
    fractions: dict[str, float] | None = None  # code: share of samples per grading status
    pass_at_1_select: float | None = None  # set by selection: what choosing T_eval maximises
    reported: list[int] | None = None  # set by selection: indices of the reported problems
    difficulty_per_problem: list[str] | None = None  # code: each problem's level

    @property
    def select_score(self) -> float:
        """What the choice of T_eval and checkpoint maximises (pass@1 before selection ran)."""
        return self.pass_at_1 if self.pass_at_1_select is None else self.pass_at_1_select

    def reported_per_problem(self) -> list[float]:
        """Per-problem pass@1 over the reported problems (all of them without a split)."""
        values = self.pass_at_1_per_problem
        return values if self.reported is None else [values[i] for i in self.reported]

    def pass_at_1_by_difficulty(self) -> dict[str, float]:
        """pass@1 per difficulty level (empty on the toy, which has none)."""
        return {k: v["pass@k"]["pass@1"] for k, v in (self.by_difficulty or {}).items()}

    def to_json(self) -> dict[str, Any]:
        out = {
            "t_eval": self.t_eval,
            "pass@1": self.pass_at_1,
            "pass@1_ci95": list(self.pass_at_1_ci95),
            "pass@1_per_problem": list(self.pass_at_1_per_problem),
            "n_correct_per_problem": list(self.n_correct_per_problem),
            "sampled": dict(self.sampled),
        }
        optional = {
            "by_difficulty": self.by_difficulty,
            "fractions": self.fractions,
            "pass@1_select": self.pass_at_1_select,
            "reported": self.reported,
            "difficulty_per_problem": self.difficulty_per_problem,
        }
        return out | {k: v for k, v in optional.items() if v is not None}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EvalRow:
        required = {"t_eval", "pass@1", "pass@1_ci95", "pass@1_per_problem"}
        required |= {"n_correct_per_problem", "sampled"}
        optional = {"by_difficulty", "fractions", "pass@1_select", "reported"}
        _check_keys("evaluation row", data, required, optional | {"difficulty_per_problem"})
        return cls(
            t_eval=data["t_eval"],
            pass_at_1=data["pass@1"],
            pass_at_1_ci95=_pair(data["pass@1_ci95"]),
            pass_at_1_per_problem=list(data["pass@1_per_problem"]),
            n_correct_per_problem=list(data["n_correct_per_problem"]),
            sampled=dict(data["sampled"]),
            by_difficulty=data.get("by_difficulty"),
            fractions=data.get("fractions"),
            pass_at_1_select=data.get("pass@1_select"),
            reported=data.get("reported"),
            difficulty_per_problem=data.get("difficulty_per_problem"),
        )


@dataclass(frozen=True)
class CheckpointScore:
    """One saved checkpoint's best T_eval and its scores: the table the checkpoint choice reads."""

    step: int
    t_eval: float
    pass_at_1_select: float
    pass_at_1: float

    def to_json(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "t_eval": self.t_eval,
            "pass@1_select": self.pass_at_1_select,
            "pass@1": self.pass_at_1,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CheckpointScore:
        _check_keys("checkpoint score", data, {"step", "t_eval", "pass@1_select", "pass@1"}, set())
        return cls(data["step"], data["t_eval"], data["pass@1_select"], data["pass@1"])


@dataclass(frozen=True)
class EvalResult:
    """An evaluation: one row per T_eval of one model under one decoding rule.

    The evaluate stage writes it as results.json; a replicate holds one per label, the SSD
    labels with the checkpoint choice that picked them.
    """

    label: str  # base, ssd_as_decoder, ssd, ssd_round2, ...
    decoder: dict[str, Any]  # Decoder.as_dict() of the rule (temperature: the grid's first T)
    rows: list[EvalRow]
    benchmark: dict[str, Any] | None = None  # code: the problem set, extraction and isolation
    checkpoint_step: int | None = None  # SSD labels: the step the selection problems chose
    checkpoints: list[CheckpointScore] | None = None  # ... and every evaluated step's score

    # Written by the toy evaluator before the analyze stage became the only source of the
    # lock/fork diagnostics: read from older caches, and dropped.
    LEGACY_KEYS = frozenset({"lock_distractor_mass", "fork_entropy_bits"})

    @property
    def n_problems(self) -> int:
        return len(self.rows[0].pass_at_1_per_problem)

    def best_row(self) -> EvalRow:
        """The T_eval row the selection problems prefer (its pass@1 is on the reported ones)."""
        return max(self.rows, key=lambda row: row.select_score)

    def to_json(self) -> dict[str, Any]:
        out = {
            "label": self.label,
            "decoder": dict(self.decoder),
            "rows": [row.to_json() for row in self.rows],
        }
        if self.benchmark is not None:
            out["benchmark"] = self.benchmark
        if self.checkpoint_step is not None:
            out["checkpoint_step"] = self.checkpoint_step
        if self.checkpoints is not None:
            out["checkpoints"] = [c.to_json() for c in self.checkpoints]
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EvalResult:
        optional = {"benchmark", "checkpoint_step", "checkpoints"} | cls.LEGACY_KEYS
        _check_keys("evaluation result", data, {"label", "decoder", "rows"}, optional)
        checkpoints = data.get("checkpoints")
        return cls(
            label=data["label"],
            decoder=dict(data["decoder"]),
            rows=[EvalRow.from_json(row) for row in data["rows"]],
            benchmark=data.get("benchmark"),
            checkpoint_step=data.get("checkpoint_step"),
            checkpoints=None
            if checkpoints is None
            else [CheckpointScore.from_json(c) for c in checkpoints],
        )


@dataclass(frozen=True)
class Replicate:
    """One seed of a run: its evaluations by label, the analyze stage's summary, its stages."""

    seed: int
    results: dict[str, EvalResult]  # label -> evaluation (SSD labels: the chosen checkpoint)
    stages: dict[str, Any]  # stage name -> {key, reused, metrics...} (ssd/cache.py)
    # SSD label -> the analyze stage's flat summary for that round (ssd/analysis/report.py):
    # `base/<key>` for the round's starting model, `ssd/<key>` for its fine-tuned one.
    fork_lock: dict[str, dict[str, Any]] = field(default_factory=dict)

    OTHER_KEYS = frozenset({"seed", "stages", "fork_lock"})

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {label: r.to_json() for label, r in self.results.items()}
        if self.fork_lock:
            out["fork_lock"] = self.fork_lock
        return out | {"seed": self.seed, "stages": self.stages}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Replicate:
        labels = [k for k in data if k not in cls.OTHER_KEYS]
        return cls(
            seed=data["seed"],
            results={label: EvalResult.from_json(data[label]) for label in labels},
            stages=data["stages"],
            fork_lock=data.get("fork_lock", {}),
        )


@dataclass(frozen=True)
class CurvePoint:
    """One label's pass@1 at one T_eval over the run's seeds: the run report's unit."""

    t_eval: float
    t_eff: float  # T_train * T_eval for fine-tuned and SSD-as-decoder; T_eval for the base
    pass_at_1: float  # mean over seeds
    pass_at_1_min: float
    pass_at_1_max: float
    pass_at_1_std: float  # over seeds (ddof 1; 0 with one seed)
    pass_at_1_per_seed: list[float]
    pass_at_1_select: float  # mean over seeds of what the choice of T_eval maximises
    pass_at_1_ci95_first_seed: tuple[float, float] | None  # the first seed's bootstrap CI
    sampled: dict[str, float]  # "pass@k" -> mean over seeds
    pass_at_1_by_difficulty: dict[str, float]  # code: level -> mean over seeds; toy: empty
    # 95% bootstrap CI over the reported problems of their pass@1 averaged over seeds
    pass_at_1_ci95: tuple[float, float] | None = None

    def to_json(self) -> dict[str, Any]:
        ci = self.pass_at_1_ci95_first_seed
        return {
            "t_eval": self.t_eval,
            "t_eff": self.t_eff,
            "pass@1": self.pass_at_1,
            "pass@1_min": self.pass_at_1_min,
            "pass@1_max": self.pass_at_1_max,
            "pass@1_std": self.pass_at_1_std,
            "pass@1_per_seed": list(self.pass_at_1_per_seed),
            "pass@1_select": self.pass_at_1_select,
            "pass@1_ci95_first_seed": None if ci is None else list(ci),
            "sampled": dict(self.sampled),
            "pass@1_by_difficulty": dict(self.pass_at_1_by_difficulty),
            "pass@1_ci95": None if self.pass_at_1_ci95 is None else list(self.pass_at_1_ci95),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CurvePoint:
        required = {"t_eval", "t_eff", "pass@1", "pass@1_min", "pass@1_max", "pass@1_std"}
        required |= {"pass@1_per_seed", "sampled"}
        # Older runs may lack these (added with selection and code benchmarks).
        optional = {"pass@1_select", "pass@1_ci95_first_seed", "pass@1_by_difficulty"}
        optional |= {"pass@1_ci95"}
        _check_keys("curve point", data, required, optional)
        return cls(
            t_eval=data["t_eval"],
            t_eff=data["t_eff"],
            pass_at_1=data["pass@1"],
            pass_at_1_min=data["pass@1_min"],
            pass_at_1_max=data["pass@1_max"],
            pass_at_1_std=data["pass@1_std"],
            pass_at_1_per_seed=list(data["pass@1_per_seed"]),
            pass_at_1_select=data.get("pass@1_select", data["pass@1"]),
            pass_at_1_ci95_first_seed=_pair(data.get("pass@1_ci95_first_seed")),
            sampled=dict(data["sampled"]),
            pass_at_1_by_difficulty=dict(data.get("pass@1_by_difficulty", {})),
            pass_at_1_ci95=_pair(data.get("pass@1_ci95")),
        )


@dataclass(frozen=True)
class BestPoint:
    """Where a label's curve peaks on the selection problems, and its pass@1 there."""

    t_eval: float
    t_eff: float
    pass_at_1: float
    ci95: tuple[float, float] | None = None  # bootstrap over the reported problems
    interior: bool | None = None  # the best T_eval is not the grid's first or last point

    def to_json(self) -> dict[str, Any]:
        out = {"t_eval": self.t_eval, "t_eff": self.t_eff, "pass@1": self.pass_at_1}
        if self.ci95 is not None:
            out["pass@1_ci95"] = list(self.ci95)
        if self.interior is not None:
            out["interior"] = self.interior
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BestPoint:
        _check_keys("best point", data, {"t_eval", "t_eff", "pass@1"}, {"pass@1_ci95", "interior"})
        ci = _pair(data.get("pass@1_ci95"))
        return cls(data["t_eval"], data["t_eff"], data["pass@1"], ci, data.get("interior"))


@dataclass(frozen=True)
class Comparison:
    """One model's best against another's, paired over the reported problems.

    `diff` is best pass@1 minus best pass@1 (each at its own best T_eval, means over seeds);
    `ci95` a paired bootstrap over problems of the per-problem difference, so it says how much
    the problem sample alone could move the gap (seed noise is in `per_seed`).
    """

    name: str  # e.g. "SSD best vs base best"
    diff: float
    ci95: tuple[float, float]
    n_problems: int
    per_seed: list[float]

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "diff": self.diff,
            "ci95": list(self.ci95),
            "n_problems": self.n_problems,
            "per_seed": list(self.per_seed),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Comparison:
        _check_keys("comparison", data, {"name", "diff", "ci95", "n_problems", "per_seed"}, set())
        ci = _pair(data["ci95"])
        assert ci is not None
        return cls(data["name"], data["diff"], ci, data["n_problems"], list(data["per_seed"]))


@dataclass(frozen=True)
class ForkLockDiagnostics:
    """The paper's two toy diagnostics of one model, mean over seeds, from the analyze stage.

    None where the analysis found no position of that kind (no lock, or no fork).
    """

    lock_distractor_mass: float | None  # mass off the one valid token at lock positions
    fork_entropy_bits: float | None  # entropy at fork positions, in bits

    KEYS = ("lock_distractor_mass", "fork_entropy_bits")

    def to_json(self) -> dict[str, Any]:
        return {
            "lock_distractor_mass": self.lock_distractor_mass,
            "fork_entropy_bits": self.fork_entropy_bits,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ForkLockDiagnostics:
        _check_keys("diagnostics", data, set(cls.KEYS), set())
        return cls(data["lock_distractor_mass"], data["fork_entropy_bits"])


@dataclass(frozen=True)
class RoundSummary:
    """One SSD round across seeds: which checkpoint each seed reported, and every one's score."""

    round: int
    label: str
    checkpoint_step_per_seed: list[int | None]
    checkpoints_per_seed: list[list[CheckpointScore] | None]

    def to_json(self) -> dict[str, Any]:
        return {
            "round": self.round,
            "label": self.label,
            "checkpoint_step_per_seed": list(self.checkpoint_step_per_seed),
            "checkpoints_per_seed": [
                None if table is None else [c.to_json() for c in table]
                for table in self.checkpoints_per_seed
            ],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RoundSummary:
        required = {"round", "label", "checkpoint_step_per_seed", "checkpoints_per_seed"}
        _check_keys("round", data, required, set())
        return cls(
            round=data["round"],
            label=data["label"],
            checkpoint_step_per_seed=list(data["checkpoint_step_per_seed"]),
            checkpoints_per_seed=[
                None if table is None else [CheckpointScore.from_json(c) for c in table]
                for table in data["checkpoints_per_seed"]
            ],
        )


@dataclass(frozen=True)
class RunSummary:
    """A run's report over its seeds: what `ssd report` and W&B read, and the golden test pins."""

    t_train: float
    labels: list[str]  # base, ssd_as_decoder, ssd, then ssd_roundR per further round
    curves: dict[str, list[CurvePoint]]  # label -> one point per T_eval, ascending
    best: dict[str, BestPoint]  # label -> its curve's best T_eval on the selection problems
    diagnostics: dict[str, ForkLockDiagnostics]  # empty when the analyze stage did not run
    verdicts: list[str]  # the comparisons in words, only as strong as every seed shows
    best_t_selection: str  # how T_eval and the checkpoint were chosen, in words
    rounds: list[RoundSummary]
    comparisons: list[Comparison] = field(default_factory=list)  # with CIs over problems

    def to_json(self) -> dict[str, Any]:
        return {
            "t_train": self.t_train,
            "curves": {k: [p.to_json() for p in curve] for k, curve in self.curves.items()},
            "best": {label: b.to_json() for label, b in self.best.items()},
            "diagnostics": {label: d.to_json() for label, d in self.diagnostics.items()},
            "verdicts": list(self.verdicts),
            "best_t_selection": self.best_t_selection,
            "labels": list(self.labels),
            "rounds": [r.to_json() for r in self.rounds],
            "comparisons": [c.to_json() for c in self.comparisons],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunSummary:
        required = {"t_train", "curves", "best", "diagnostics", "verdicts", "best_t_selection"}
        optional = {"labels", "rounds", "comparisons"}  # older runs lack them
        _check_keys("run summary", data, required, optional)
        curves = {
            label: [CurvePoint.from_json(p) for p in curve]
            for label, curve in data["curves"].items()
        }
        return cls(
            t_train=data["t_train"],
            labels=list(data.get("labels") or ordered_labels(list(curves))),
            curves=curves,
            best={label: BestPoint.from_json(b) for label, b in data["best"].items()},
            diagnostics={
                label: ForkLockDiagnostics.from_json(d) for label, d in data["diagnostics"].items()
            },
            verdicts=list(data["verdicts"]),
            best_t_selection=data["best_t_selection"],
            rounds=[RoundSummary.from_json(r) for r in data.get("rounds", [])],
            comparisons=[Comparison.from_json(c) for c in data.get("comparisons", [])],
        )
