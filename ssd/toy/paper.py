"""The paper's fork/lock toy (paper-notes §7) in closed form: teacher, exact SSD student, T sweep.

Run ``ssd toy paper`` (tables, plus a PNG and summary.json under outputs/toy_paper/) or
``ssd toy paper --json``; ``--sgd N`` adds students trained by SGD on N sampled trajectories
(`ssd.toy.paper_sgd`). The maths here is pure; printing and plotting live in
`ssd.toy.paper_report`. Every distribution goes through `ssd.generation.decoding`, the pipeline's decoding
operator, so the toy and the real sampler share one semantics.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from ssd.generation.decoding import Decoder, transform

VOCAB_SIZE = 16
N_LOCKS = 3
CORRECT_TOKEN = 0
"""At every non-root state token 0 is the only correct continuation."""
ROOT_ENTRY_TOKENS = (0, 1)
"""At the root tokens 0 and 1 enter the two (symmetric) paths; everything else FAILs."""
MODEL_NAMES = ("teacher", "student", "ssd_as_decoder")
"""The models the toy decodes; the last is the teacher under the SSD-as-decoder rule."""
STATES = ("root", "fork", "lock")
"""Row order of every (state, vocab) tensor; both paths share the fork and lock distributions."""


@dataclass(frozen=True)
class StateSpec:
    """One state's teacher distribution: explicit head probabilities, then a geometric tail.

    Attributes:
        head: probabilities of tokens 0..len(head)-1, as printed in the paper.
        tail_ratio: ratio of the geometric tail over the remaining tokens, which holds the rest
            of the mass (not printed in the paper; chosen to reproduce its entropies, paper-notes §7).
    """

    head: tuple[float, ...]
    tail_ratio: float


PAPER_STATES: dict[str, StateSpec] = {
    "root": StateSpec((0.200, 0.190, 0.329, 0.126), 0.5),
    "fork": StateSpec((0.148, 0.280, 0.140, 0.144), 0.5),
    "lock": StateSpec((0.750, 0.055, 0.050, 0.037), 0.75),
}


@dataclass(frozen=True)
class ToyConfig:
    """Settings of the toy; defaults are the paper's (paper-notes §7).

    Attributes:
        t_train: T_train of the SSD sampling that defines the student.
        train_top_p: top-p of the SSD sampling (no top-k in the toy).
        eval_top_p: eval top-p used for the headline sweep, for both models.
        robust_top_ps: eval top-p values of the robustness sweep.
        t_min, t_max, t_step: the global eval temperature grid T (inclusive of both ends).
    """

    t_train: float = 0.9
    train_top_p: float = 0.85
    eval_top_p: float = 0.80
    robust_top_ps: tuple[float, ...] = (0.65, 0.70, 0.75, 0.80, 0.85, 0.90)
    t_min: float = 0.05
    t_max: float = 3.0
    t_step: float = 0.01

    def __post_init__(self) -> None:
        for name, value in [("train_top_p", self.train_top_p), ("eval_top_p", self.eval_top_p)] + [
            ("robust_top_ps", p) for p in self.robust_top_ps
        ]:
            if not 0.0 < value <= 1.0:
                raise ValueError(f"{name} must be in (0, 1], got {value}")
        if self.t_train <= 0 or self.t_min <= 0 or self.t_step <= 0 or self.t_max < self.t_min:
            raise ValueError("need t_train > 0, t_min > 0, t_step > 0 and t_max >= t_min")

    def temperatures(self) -> np.ndarray:
        """The eval temperature grid from t_min up to t_max (never past it), rounded so that
        0.05 + 0.01*k prints as it reads."""
        n_points = int(np.floor((self.t_max - self.t_min) / self.t_step + 1e-9)) + 1
        return np.round(self.t_min + self.t_step * np.arange(n_points), 10)


def state_probs(spec: StateSpec, vocab_size: int = VOCAB_SIZE) -> np.ndarray:
    """A state's full distribution: the head, then a geometric tail holding the remaining mass."""
    head = np.asarray(spec.head, dtype=np.float64)
    weights = spec.tail_ratio ** np.arange(vocab_size - head.size, dtype=np.float64)
    tail = (1.0 - head.sum()) * weights / weights.sum()
    return np.concatenate([head, tail])


def entropy_bits(probs: np.ndarray | torch.Tensor) -> float:
    """Shannon entropy in bits; zero-probability tokens contribute nothing."""
    probs = np.asarray(probs, dtype=np.float64)
    nonzero = probs[probs > 0]
    return float(-(nonzero * np.log2(nonzero)).sum())


def teacher_logits(states: dict[str, StateSpec] | None = None) -> torch.Tensor:
    """The teacher as logits = log probs, one row per state in `STATES` order, shape (3, 16)."""
    states = PAPER_STATES if states is None else states
    return torch.tensor(np.log(np.stack([state_probs(states[name]) for name in STATES])))


def ssd_student_logits(teacher: torch.Tensor, t_train: float, train_top_p: float) -> torch.Tensor:
    """The exact SSD student: per state, the teacher's (T_train, top-p) sampling distribution.

    A tabular student trained to convergence on SSD samples matches this distribution exactly;
    tokens outside the SSD support get logit ``-inf`` (the student never saw them).
    """
    return torch.log(transform(teacher, t_train, 0, train_top_p))


def pass_probability(probs: np.ndarray) -> np.ndarray:
    """P(pass) = q(root -> A or B) * q(fork correct) * q(lock correct)^3, per leading index.

    Args:
        probs: next-token probabilities of shape (..., 3, vocab), states in `STATES` order.
    """
    root, fork, lock = probs[..., 0, :], probs[..., 1, :], probs[..., 2, :]
    entry = root[..., list(ROOT_ENTRY_TOKENS)].sum(-1)
    return entry * fork[..., CORRECT_TOKEN] * lock[..., CORRECT_TOKEN] ** N_LOCKS


def decode_grid(
    decoder_for: Callable[[float], Decoder], temperatures: np.ndarray, logits: torch.Tensor
) -> np.ndarray:
    """Decoded distributions at every grid temperature, shape (len(temperatures), 3, vocab).

    Args:
        decoder_for: maps a temperature T to a `Decoder`.
        temperatures: the eval temperature grid.
        logits: the model's logits, shape (3, vocab).
    """
    return np.stack([decoder_for(float(t)).probs(logits).double().numpy() for t in temperatures])


@dataclass
class Sweep:
    """One model decoded at every grid temperature for one eval top-p."""

    probs: np.ndarray
    """(n_T, 3, vocab) decoded next-token distributions."""
    pass_curve: np.ndarray
    """(n_T,) P(pass) at each temperature."""


def sweep_models(config: ToyConfig, eval_top_p: float) -> dict[str, Sweep]:
    """Teacher, SSD student and the SSD-as-decoder baseline swept over the T grid.

    The student is decoded from its own logits; the baseline decodes the *teacher* with the
    SSD-as-decoder rule of `ssd.generation.decoding.Decoder`. They are computed independently so that their
    agreement (the tabular caveat of paper-notes §7) is a check, not an identity by construction.
    """
    temps = config.temperatures()
    teacher = teacher_logits()
    student = ssd_student_logits(teacher, config.t_train, config.train_top_p)

    def plain(temperature: float) -> Decoder:
        return Decoder(temperature, 0, eval_top_p)

    def baseline(temperature: float) -> Decoder:
        return Decoder(temperature, 0, eval_top_p, config.t_train, 0, config.train_top_p)

    grids = {
        "teacher": decode_grid(plain, temps, teacher),
        "student": decode_grid(plain, temps, student),
        "ssd_as_decoder": decode_grid(baseline, temps, teacher),
    }
    return {name: Sweep(probs, pass_probability(probs)) for name, probs in grids.items()}


def token_list(probs: np.ndarray) -> list[dict]:
    """The tokens with nonzero probability, most likely first, as [{token, prob}]."""
    kept = np.flatnonzero(probs > 0)
    kept = kept[np.argsort(-probs[kept], kind="stable")]
    return [{"token": int(tok), "prob": float(probs[tok])} for tok in kept]


def peak(sweep: Sweep, temps: np.ndarray) -> dict:
    """Best P(pass) on the grid, the (first) T reaching it, and what each state contributes there."""
    best = int(np.argmax(sweep.pass_curve))
    probs = sweep.probs[best]
    return {
        "best_pass": float(sweep.pass_curve[best]),
        "best_T": float(temps[best]),
        # A peak on the grid's edge is only a lower bound on the true optimum.
        "at_grid_edge": best in (0, len(temps) - 1),
        "factors": {
            "root_enters_path": float(probs[0, list(ROOT_ENTRY_TOKENS)].sum()),
            "fork_correct": float(probs[1, CORRECT_TOKEN]),
            "lock_correct": float(probs[2, CORRECT_TOKEN]),
        },
        "fork_nucleus": token_list(probs[1]),
    }


def _brief(entry: dict) -> dict:
    return {key: entry[key] for key in ("best_pass", "best_T", "at_grid_edge")}


def run_toy(config: ToyConfig) -> tuple[dict, dict[float, dict[str, Sweep]]]:
    """Everything the toy reports.

    Returns:
        ``(summary, sweeps)``: a JSON-ready summary, and the sweeps per eval top-p (for plotting).
    """
    temps = config.temperatures()
    top_ps = sorted({*config.robust_top_ps, config.eval_top_p})
    sweeps = {p: sweep_models(config, p) for p in top_ps}
    teacher = teacher_logits()
    teacher_probs = teacher.exp().numpy()
    student_probs = ssd_student_logits(teacher, config.t_train, config.train_top_p).exp().double()
    states = {}
    for row, name in enumerate(STATES):
        kept = student_probs[row].numpy() > 0
        states[name] = {
            "teacher_entropy_bits": entropy_bits(teacher_probs[row]),
            "student_entropy_bits": entropy_bits(student_probs[row]),
            "kept_mass": float(teacher_probs[row][kept].sum()),
            "student_support": token_list(student_probs[row].numpy()),
        }
    headline = sweeps[config.eval_top_p]
    max_pass_gap = max(
        float(np.abs(s["student"].pass_curve - s["ssd_as_decoder"].pass_curve).max())
        for s in sweeps.values()
    )
    max_prob_gap = max(
        float(np.abs(s["student"].probs - s["ssd_as_decoder"].probs).max()) for s in sweeps.values()
    )
    summary = {
        "config": {
            "t_train": config.t_train,
            "train_top_p": config.train_top_p,
            "eval_top_p": config.eval_top_p,
            "robust_top_ps": list(top_ps),
            "grid": {"t_min": config.t_min, "t_max": config.t_max, "t_step": config.t_step},
            "vocab_size": VOCAB_SIZE,
            "n_locks": N_LOCKS,
            "states": {
                n: {"head": list(s.head), "tail_ratio": s.tail_ratio}
                for n, s in PAPER_STATES.items()
            },
        },
        "states": states,
        **{name: peak(headline[name], temps) for name in MODEL_NAMES},
        "student_vs_ssd_as_decoder": {
            "max_abs_pass_diff": max_pass_gap,
            "max_abs_prob_diff": max_prob_gap,
            "coincide": max_pass_gap < 1e-5 and max_prob_gap < 1e-5,
        },
        "robustness": [
            {"eval_top_p": p, **{name: _brief(peak(s[name], temps)) for name in MODEL_NAMES}}
            for p, s in sweeps.items()
        ],
    }
    return summary, sweeps
