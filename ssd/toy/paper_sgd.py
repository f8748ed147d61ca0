"""The SGD student of the paper's toy: `ssd toy paper --sgd N` (paper-notes §7, the extension).

The exact SSD student of `ssd.toy.paper` is what a tabular student converges to. Here a tiny Qwen3
(`ssd.models.build_tiny_model`) is instead trained by `ssd.sft.loop.train_sft`, the pipeline's
Lightning loop, on N trajectories sampled from the teacher's SSD training decoding (T_train 0.9,
top-p 0.85). A trajectory starts at a `<root>` token and stops at PASS or at the first FAIL; the
network reads the state from its prefix (root / fork after entering path A or B / lock 1-3), so it
may share what it learns across paths and lock positions. Its exact P(pass) under eval decoding is
a sum over the two passing sequences, by teacher forcing. Beside it: the tabular maximum-likelihood
student of the same samples (token counts per state), which separates sampling noise (both have it)
from the network's own error (only the SGD student has it), e.g. mass left on never-sampled tokens;
and that tabular student over many sample seeds, because the toy's best P(pass) is a knife-edge: at
the fork the correct token (0.148) barely outranks tokens 2-4 (0.140-0.144), and a tabular student
that ranks it last of the fork's support has P(pass) = 0 at every T under eval top-p 0.80.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from types import SimpleNamespace

import numpy as np
import torch

from ssd.config.schema import FinetuneConfig
from ssd.generation.decoding import Decoder
from ssd.models import build_tiny_model
from ssd.sft.data import make_example
from ssd.sft.loop import train_sft
from ssd.toy.paper import (
    CORRECT_TOKEN,
    N_LOCKS,
    ROOT_ENTRY_TOKENS,
    STATES,
    VOCAB_SIZE,
    ToyConfig,
    decode_grid,
    pass_probability,
    ssd_student_logits,
    teacher_logits,
)
from ssd.toy.task import EOS, PAD
from ssd.toy.tokenizer import build_word_tokenizer

ROOT_TOKEN = "<root>"
STUDENT_ARCH = SimpleNamespace(
    hidden_size=32, num_layers=1, num_heads=2, head_dim=16, intermediate_size=64, max_context=16
)
"""A one-layer Qwen3: the state is a function of the position and the entry token, which one
attention layer reads. Measured on 4096 trajectories, 400 steps: the pipeline's 2-layer 64-wide toy
model fit them about as closely (TV to their tabular fit 0.003/0.014/0.007 at root/fork/lock, vs
0.003/0.018/0.010 here) at 3-4x the CPU time."""
MLE_SEEDS = 200
"""Sample seeds of the tabular MLE spread (cheap: counts are drawn as multinomials, no training)."""
CONTEXTS: list[tuple[str, tuple[int, ...]]] = [("root", ())] + [
    (state, (entry,) + (CORRECT_TOKEN,) * depth)
    for entry in ROOT_ENTRY_TOKENS
    for depth, state in enumerate(["fork"] + ["lock"] * N_LOCKS)
]
"""(state, toy tokens after <root>) of every context on a passing path: root, then per path A/B
the fork and the three locks; P(pass) multiplies the decoded probability of token 0 along them."""


@dataclass(frozen=True)
class SGDConfig:
    """How the SGD students are trained; one student per size in `sizes`.

    Attributes:
        n_trajectories: N, the largest training set; the smaller ones are its first N/8, N/4, N/2.
        steps: optimizer steps per student (the same for every size, so students of small N see
            each trajectory many times).
        batch_size: trajectories per step (capped at the training set's size).
        lr: AdamW peak learning rate (cosine to lr/100, no weight decay: a plain likelihood fit).
        seed: seeds the trajectories and the network's initialisation.
    """

    n_trajectories: int = 4096
    steps: int = 400
    batch_size: int = 128
    lr: float = 3e-3
    seed: int = 0

    def __post_init__(self) -> None:
        if self.n_trajectories < 1 or self.steps < 1 or self.batch_size < 1 or self.lr <= 0:
            raise ValueError("--sgd needs N >= 1, steps >= 1, batch size >= 1 and lr > 0")

    def sizes(self) -> list[int]:
        """N/8, N/4, N/2, N (those >= 1, without repeats)."""
        n = self.n_trajectories
        return sorted({size for size in (n // 8, n // 4, n // 2, n) if size >= 1})


def ssd_sampling_probs(config: ToyConfig) -> np.ndarray:
    """(3, 16) float64: the teacher's (T_train, top-p) distribution per state, renormalised."""
    probs = ssd_student_logits(teacher_logits(), config.t_train, config.train_top_p).exp()
    probs = probs.double().numpy()
    return probs / probs.sum(-1, keepdims=True)


def sample_trajectories(probs: np.ndarray, n: int, seed: int) -> list[list[int]]:
    """n trajectories of toy tokens: root token; if it enters a path, the fork; then the locks.

    A trajectory stops at its first FAIL (a root token outside {0, 1}, or a non-zero token at a
    fork or lock): the FSM has no state after FAIL. Row `STATES.index(s)` of `probs` is state s.
    """
    rng = np.random.default_rng(seed)
    draws = {s: rng.choice(VOCAB_SIZE, size=(n, N_LOCKS), p=probs[i]) for i, s in enumerate(STATES)}
    trajectories = []
    for row in range(n):
        tokens = [int(draws["root"][row, 0])]
        if tokens[0] in ROOT_ENTRY_TOKENS:
            tokens.append(int(draws["fork"][row, 0]))
            for lock in range(N_LOCKS if tokens[-1] == CORRECT_TOKEN else 0):
                tokens.append(int(draws["lock"][row, lock]))
                if tokens[-1] != CORRECT_TOKEN:
                    break
        trajectories.append(tokens)
    return trajectories


def state_counts(trajectories: list[list[int]]) -> np.ndarray:
    """(3, 16) token counts per state: position 0 is the root, 1 the fork, 2+ the locks."""
    counts = np.zeros((len(STATES), VOCAB_SIZE))
    for tokens in trajectories:
        for position, token in enumerate(tokens):
            counts[min(position, 2), token] += 1
    return counts


def tabular_mle_logits(trajectories: list[list[int]]) -> torch.Tensor:
    """The tabular student fit exactly to these samples: log of the count frequencies per state."""
    counts = state_counts(trajectories)
    freq = counts / np.maximum(counts.sum(-1, keepdims=True), 1)
    with np.errstate(divide="ignore"):
        return torch.tensor(np.log(freq))


def _tokenizer():
    return build_word_tokenizer([PAD, EOS, ROOT_TOKEN] + [f"t{i}" for i in range(VOCAB_SIZE)])


def train_network_student(
    trajectories: list[list[int]], sgd: SGDConfig
) -> tuple[torch.Tensor, dict]:
    """Train a tiny Qwen3 on the trajectories; returns its (len(CONTEXTS), 16) logits and metrics.

    The logits are read at every context of `CONTEXTS` and restricted to the 16 toy tokens: the
    toy's decoder emits only those (the mass the network puts on its special tokens is reported).
    """
    tokenizer = _tokenizer()
    toy_ids = tokenizer.convert_tokens_to_ids([f"t{i}" for i in range(VOCAB_SIZE)])
    root_id = tokenizer.convert_tokens_to_ids(ROOT_TOKEN)
    examples = [
        make_example([root_id], [toy_ids[t] for t in tokens], 1 + 2 + N_LOCKS)[0]
        for tokens in trajectories
    ]
    batch = min(sgd.batch_size, len(examples))
    opt = FinetuneConfig(
        lr=sgd.lr, min_lr=sgd.lr / 100, warmup_steps=min(20, sgd.steps // 10),
        max_steps=sgd.steps, batch_size=batch, global_batch_size=batch, weight_decay=0.0,
        batching="random", precision="32-true", accelerator="cpu", save_every=0,
    )  # fmt: skip
    # Random batches: length-grouped ones put the short (failed-at-root) trajectories together
    # and the model chases one state at a time (measured: lock TV 0.8 instead of 0.01, N=4096).
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # 64-wide matrices gain nothing from threads; busy cores lose 10x
    try:
        model = build_tiny_model(tokenizer, STUDENT_ARCH, seed=sgd.seed)
        metrics = train_sft(
            model, examples, opt, sgd.seed, tokenizer.pad_token_id, log_prefix="sgd"
        )
        with torch.inference_mode():
            rows = [
                model(input_ids=torch.tensor([[root_id] + [toy_ids[t] for t in prefix]]))
                .logits[0, -1]
                .double()
                for _, prefix in CONTEXTS
            ]
    finally:
        torch.set_num_threads(threads)
    logits = torch.stack(rows)
    special_mass = 1.0 - logits.softmax(-1)[:, toy_ids].sum(-1)
    metrics["max_special_token_mass"] = float(special_mass.max())
    return logits[:, toy_ids], metrics


def path_pass_curve(context_probs: np.ndarray) -> np.ndarray:
    """P(pass) per temperature from decoded (n_T, len(CONTEXTS), 16) context distributions.

    P = sum over entries e in {0, 1} of q(root)[e] * q(fork | e)[0] * prod_j q(lock_j | e)[0]:
    the probability of the two passing sequences, read along each path separately.
    """
    correct = context_probs[..., CORRECT_TOKEN]
    per_path = len(CONTEXTS[1:]) // len(ROOT_ENTRY_TOKENS)
    total = np.zeros(context_probs.shape[0])
    for index, entry in enumerate(ROOT_ENTRY_TOKENS):
        start = 1 + index * per_path
        along = correct[:, start : start + per_path].prod(-1)
        total += context_probs[:, 0, entry] * along
    return total


def _best(curve: np.ndarray, temps: np.ndarray) -> dict:
    best = int(np.argmax(curve))
    return {"best_pass": float(curve[best]), "best_T": float(temps[best])}


def _per_state(
    net_probs: np.ndarray, exact: np.ndarray, mle: np.ndarray
) -> dict[str, dict[str, float]]:
    """Per state, averaged over its contexts: total variation to the exact and to the tabular MLE
    student of the same samples (the network's own fit error), and mass off the exact support."""
    out = {}
    for row, state in enumerate(STATES):
        probs = net_probs[[i for i, (s, _) in enumerate(CONTEXTS) if s == state]]
        out[state] = {
            "tv_to_exact": float(0.5 * np.abs(probs - exact[row]).sum(-1).mean()),
            "tv_to_tabular_mle": float(0.5 * np.abs(probs - mle[row]).sum(-1).mean()),
            "mass_off_support": float(probs[:, exact[row] == 0].sum(-1).mean()),
        }
    return out


def fork_rank_of_correct(net_probs: np.ndarray) -> list[int]:
    """Rank (1 = most likely) of the correct token at the fork of path A and of path B."""
    forks = [i for i, (state, _) in enumerate(CONTEXTS) if state == "fork"]
    return [int((net_probs[i] > net_probs[i, CORRECT_TOKEN]).sum()) + 1 for i in forks]


def mle_seed_spread(
    config: ToyConfig, probs: np.ndarray, size: int, exact_best: float, seed: int
) -> dict:
    """Best P(pass) of the tabular MLE student of `size` trajectories, over `MLE_SEEDS` seeds.

    State counts are drawn directly, in the trajectory process's own law: root counts are
    multinomial(size); the fork sees the root's entries (tokens 0 and 1); lock j sees lock j-1's
    correct tokens. Returns the mean and median best P, the share of seeds with best P = 0, and
    the share within 10% of the exact student's best P.
    """
    rng = np.random.default_rng([seed, size])
    root = rng.multinomial(size, probs[0], size=MLE_SEEDS)
    fork = rng.multinomial(root[:, list(ROOT_ENTRY_TOKENS)].sum(-1), probs[1])
    locks, visits = np.zeros_like(fork), fork[:, CORRECT_TOKEN]
    for _ in range(N_LOCKS):
        lock = rng.multinomial(visits, probs[2])
        locks, visits = locks + lock, lock[:, CORRECT_TOKEN]
    counts = np.stack([root, fork, locks], axis=1).astype(np.float64)
    freq = counts / np.maximum(counts.sum(-1, keepdims=True), 1)
    with np.errstate(divide="ignore"):
        logits = torch.tensor(np.log(freq))
    decoder = lambda t: Decoder(t, 0, config.eval_top_p)  # noqa: E731
    best = pass_probability(decode_grid(decoder, config.temperatures(), logits)).max(0)
    return {
        "n_seeds": MLE_SEEDS,
        "mean_best_pass": float(best.mean()),
        "median_best_pass": float(np.median(best)),
        "share_zero": float((best < 1e-12).mean()),
        "share_within_10pct_of_exact": float(
            (np.abs(best - exact_best) <= 0.1 * exact_best).mean()
        ),
    }


def run_sgd(config: ToyConfig, sgd: SGDConfig) -> tuple[dict, dict]:
    """Train one SGD student per size and compare it with the exact and the tabular MLE students.

    Returns:
        ``(summary, curves)``: a JSON-ready summary (one row per N), and the P(pass) curves over
        the headline eval top-p's T grid: ``{"exact": curve, "sgd": {N: curve},
        "tabular_mle": {N: curve}}``.
    """
    temps = config.temperatures()
    decoder = lambda t: Decoder(t, 0, config.eval_top_p)  # noqa: E731
    exact_logits = ssd_student_logits(teacher_logits(), config.t_train, config.train_top_p)
    exact_curve = pass_probability(decode_grid(decoder, temps, exact_logits))
    exact_best = _best(exact_curve, temps)
    at_exact_best_T = int(np.argmax(exact_curve))
    probs = ssd_sampling_probs(config)
    trajectories = sample_trajectories(probs, sgd.n_trajectories, sgd.seed)
    rows: list[dict] = []
    curves: dict = {"exact": exact_curve, "sgd": {}, "tabular_mle": {}}
    for size in sgd.sizes():
        subset = trajectories[:size]
        net_logits, metrics = train_network_student(subset, replace(sgd, n_trajectories=size))
        net_curve = path_pass_curve(decode_grid(decoder, temps, net_logits))
        mle_logits = tabular_mle_logits(subset)
        mle_curve = pass_probability(decode_grid(decoder, temps, mle_logits))
        curves["sgd"][size], curves["tabular_mle"][size] = net_curve, mle_curve
        net_probs = net_logits.softmax(-1).numpy()
        counts = state_counts(subset)
        rows.append(
            {
                "n_trajectories": size,
                "visits": {state: int(counts[i].sum()) for i, state in enumerate(STATES)},
                "sgd": {
                    **_best(net_curve, temps),
                    "pass_at_exact_best_T": float(net_curve[at_exact_best_T]),
                    "max_abs_pass_diff_to_exact": float(np.abs(net_curve - exact_curve).max()),
                    "fork_rank_of_correct": fork_rank_of_correct(net_probs),
                    "states": _per_state(net_probs, probs, mle_logits.exp().numpy()),
                    **{k: metrics[k] for k in ("final_loss", "steps", "train_wall_s")},
                    "max_special_token_mass": metrics["max_special_token_mass"],
                },
                "tabular_mle": {
                    **_best(mle_curve, temps),
                    "pass_at_exact_best_T": float(mle_curve[at_exact_best_T]),
                    "over_seeds": mle_seed_spread(
                        config, probs, size, exact_best["best_pass"], sgd.seed
                    ),
                },
            }
        )
    summary = {
        "settings": {
            **vars(sgd),
            "sizes": sgd.sizes(),
            "eval_top_p": config.eval_top_p,
            "student_arch": vars(STUDENT_ARCH),
        },  # fmt: skip
        "exact_student": exact_best,
        "rows": rows,
    }
    return summary, curves
