"""The fork/lock toy (experiment=toy): a synthetic token language with an exact pass@1.

A solution to instance i is a fixed-length token sequence: each fork (2-3 valid next tokens) is
followed by a chain of locks (one valid token, a distractor tail; "hard" locks have one strong wrong
competitor), then EOS. A lock's valid token depends on the branch taken at the last fork, so the model
must read its context. Some forks are traps: their single most likely token is wrong, which gives the
base model an interior optimum in T_eval. The reference distribution here is what the base model is
fit to; the grader and the exact pass@1 (sum over all valid sequences) only read `valid`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

EOS = "<eos>"
PAD = "<pad>"


@dataclass(frozen=True)
class ToyState:
    kind: str  # fork | trap_fork | lock | hard_lock | end
    valid: tuple[int, ...]  # outcome indices; outcome n_content is EOS
    probs: np.ndarray  # reference distribution over outcomes (content tokens, then EOS)


class ToyTask:
    """One toy language, built deterministically from a `ToyTaskConfig`-like object."""

    def __init__(self, cfg: Any):
        self.cfg = cfg
        self.n_outcomes = cfg.n_content_tokens + 1
        self.eos_outcome = cfg.n_content_tokens
        self.positions = cfg.n_forks * (1 + cfg.locks_per_fork) + 1  # EOS included
        rng = np.random.default_rng(cfg.seed)
        # states[(instance, position, branch)] where branch = index of the choice at the last fork
        self.states: dict[tuple[int, int, int], ToyState] = {}
        for instance in range(cfg.n_instances):
            for fork in range(cfg.n_forks):
                start = fork * (1 + cfg.locks_per_fork)
                fork_state = self._fork(rng)
                prev_branches = range(3) if fork > 0 else range(1)
                for branch in prev_branches:
                    self.states[(instance, start, branch)] = fork_state
                for branch in range(len(fork_state.valid)):
                    for offset in range(1, 1 + cfg.locks_per_fork):
                        self.states[(instance, start + offset, branch)] = self._lock(rng)
            for branch in range(3):
                self.states[(instance, self.positions - 1, branch)] = self._lock(rng, end=True)

    # -- construction ---------------------------------------------------------------------------
    def _tail(self, rng: np.random.Generator, probs: np.ndarray, mass: float) -> np.ndarray:
        free = np.flatnonzero(probs == 0)
        order = rng.permutation(free)
        weights = self.cfg.tail_ratio ** np.arange(len(order))
        probs[order] = mass * weights / weights.sum()
        return probs

    def _lock(self, rng: np.random.Generator, end: bool = False) -> ToyState:
        c = self.cfg
        probs = np.zeros(self.n_outcomes)
        valid = self.eos_outcome if end else int(rng.integers(c.n_content_tokens))
        hard = (not end) and rng.random() < c.hard_lock_fraction
        if hard:
            probs[valid] = c.hard_lock_valid_mass
            competitor = rng.choice([o for o in range(c.n_content_tokens) if o != valid])
            probs[competitor] = c.hard_lock_competitor_mass
            rest = 1 - c.hard_lock_valid_mass - c.hard_lock_competitor_mass
        else:
            probs[valid] = c.lock_valid_mass
            rest = 1 - c.lock_valid_mass
        kind = "end" if end else ("hard_lock" if hard else "lock")
        return ToyState(kind, (valid,), self._tail(rng, probs, rest))

    def _fork(self, rng: np.random.Generator) -> ToyState:
        c = self.cfg
        n_valid = int(rng.integers(2, 4))
        picks = rng.choice(c.n_content_tokens, size=n_valid + 1, replace=False)
        valid, trap_token = picks[:n_valid], picks[n_valid]
        shares = np.array([1.0, 0.85, 0.7][:n_valid])
        probs = np.zeros(self.n_outcomes)
        trap = rng.random() < c.trap_fork_fraction
        mass = c.trap_fork_valid_mass if trap else c.fork_valid_mass
        probs[valid] = mass * shares / shares.sum()
        rest = 1 - mass
        if trap:
            probs[trap_token] = c.trap_ratio * probs[valid].max()
            rest -= probs[trap_token]
        if rest <= 0:
            raise ValueError("toy: fork masses leave no room for the tail; lower trap_ratio")
        kind = "trap_fork" if trap else "fork"
        return ToyState(kind, tuple(int(v) for v in valid), self._tail(rng, probs, rest))

    # -- the language ---------------------------------------------------------------------------
    def state(self, instance: int, position: int, branch: int) -> ToyState:
        return self.states[(instance, position, branch)]

    def walk(self, instance: int, outcomes: list[int]):
        """Yield (position, state, outcome) along a sequence; after a wrong fork token, branch 0."""
        branch = 0
        for position, outcome in enumerate(outcomes[: self.positions]):
            st = self.state(instance, position, branch)
            yield position, st, outcome
            if st.kind in ("fork", "trap_fork"):
                branch = st.valid.index(outcome) if outcome in st.valid else 0

    def passes(self, instance: int, outcomes: list[int]) -> bool:
        """A completion passes iff it has exactly the solution's length and every token is valid."""
        if len(outcomes) != self.positions:
            return False
        return all(o in st.valid for _, st, o in self.walk(instance, outcomes))

    @cached_property
    def valid_sequences(self) -> list[tuple[int, tuple[int, ...]]]:
        """Every (instance, passing sequence): the set exact pass@1 sums over."""
        out = []
        for instance in range(self.cfg.n_instances):
            partial: list[list[int]] = [[]]
            for _position in range(self.positions):
                grown = []
                for prefix in partial:
                    states = list(self.walk(instance, prefix + [0]))
                    for outcome in states[-1][1].valid:
                        grown.append(prefix + [outcome])
                partial = grown
            out.extend((instance, tuple(seq)) for seq in partial)
        return out

    def sample_reference(self, n: int, seed: int) -> list[tuple[int, list[int]]]:
        """Draw (instance, outcomes) from the reference distribution; EOS ends a sequence early."""
        rng = np.random.default_rng(seed)
        draws = []
        for _ in range(n):
            instance = int(rng.integers(self.cfg.n_instances))
            outcomes: list[int] = []
            branch = 0
            for position in range(self.positions):
                st = self.state(instance, position, branch)
                outcome = int(rng.choice(self.n_outcomes, p=st.probs))
                outcomes.append(outcome)
                if outcome == self.eos_outcome:
                    break
                if st.kind in ("fork", "trap_fork"):
                    branch = st.valid.index(outcome) if outcome in st.valid else 0
            draws.append((instance, outcomes))
        return draws

    # -- text <-> outcomes -----------------------------------------------------------------------
    def vocabulary(self) -> list[str]:
        """Token strings of the toy tokenizer; special tokens first."""
        content = [f"t{j}" for j in range(self.cfg.n_content_tokens)]
        return [PAD, EOS] + [f"P{i}" for i in range(self.cfg.n_instances)] + content

    def outcome_text(self, outcomes: list[int]) -> str:
        return " ".join(EOS if o == self.eos_outcome else f"t{o}" for o in outcomes)

    def text_outcomes(self, text: str, ended_with_eos: bool) -> list[int]:
        """Parse a completion's text back into outcomes; unknown words make it fail."""
        out = []
        for word in text.split():
            if word == EOS:
                out.append(self.eos_outcome)
            elif word.startswith("t") and word[1:].isdigit():
                out.append(int(word[1:]))
            else:
                out.append(-1)
        if ended_with_eos and (not out or out[-1] != self.eos_outcome):
            out.append(self.eos_outcome)
        return out
