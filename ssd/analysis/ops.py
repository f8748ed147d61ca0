"""Per-position operations of the fork/lock analysis: entropies, the entropy split, truncations.

Pure tensor functions used by `ssd.analysis.forklock.ForkLockAccumulator`, kept apart so each can be tested
against its reference: `entropy_split` (the definitions) for `entropy_split_from_logits` (the fast
form), `ssd.generation.decoding.transform` for `truncate_sorted` and `ssd.generation.decoding.support` for
`training_support`. Entropies are in bits.
"""

from __future__ import annotations

import math

import torch

from ssd.generation.decoding import GREEDY_BELOW, support

LN2 = math.log(2.0)


def token_entropy_bits(probs: torch.Tensor) -> torch.Tensor:
    """-p log2 p per token (0 where p = 0)."""
    return -torch.special.xlogy(probs, probs) / LN2


def entropy_split(probs: torch.Tensor, kept: torch.Tensor) -> dict[str, torch.Tensor]:
    """Entropy and its gate/head/tail split for distributions `probs` and kept sets `kept`.

    Each term is computed from its own definition (h2 of the kept mass; entropies of the
    renormalised head and tail), so the identity H = gate + head + tail is a check, not a rewrite.

    Args:
        probs: (n, vocab) probabilities (float64 recommended).
        kept: (n, vocab) bool, the set S_s.

    Returns:
        (n,) tensors: ``entropy``, ``kept_mass``, ``gate`` = h2(K), ``head`` = K*H(head),
        ``tail`` = (1-K)*H(tail), ``head_entropy`` = H(head), ``tail_entropy`` = H(tail) (0 where
        the head or tail holds no mass).
    """
    head_mass = (probs * kept).sum(-1)
    tail_mass = (probs * ~kept).sum(-1)  # not 1 - head_mass: keeps tiny tails exact
    head = probs * kept / head_mass.clamp_min(1e-300).unsqueeze(-1)
    tail = probs * ~kept / tail_mass.clamp_min(1e-300).unsqueeze(-1)
    head_entropy = token_entropy_bits(head).sum(-1)
    tail_entropy = token_entropy_bits(tail).sum(-1)
    gate = (token_entropy_bits(head_mass) + token_entropy_bits(tail_mass)).clamp_min(0)
    return {
        "entropy": token_entropy_bits(probs).sum(-1),
        "kept_mass": head_mass,
        "gate": gate,
        "head": head_mass * head_entropy,
        "tail": tail_mass * tail_entropy,
        "head_entropy": head_entropy,
        "tail_entropy": tail_entropy,
    }


def entropy_split_from_logits(logits: torch.Tensor, kept: torch.Tensor) -> dict[str, torch.Tensor]:
    """`entropy_split` of softmax(logits) in a third of the passes over the vocabulary.

    Uses K*H(head) = sum_S -p log2 p + K log2 K (and the same for the tail) instead of building
    the renormalised head and tail: on a 152k vocabulary the split is the analysis's costliest
    step. `entropy_split` is the reference it is tested against.
    """
    log_probs = logits.double().log_softmax(-1)
    probs = log_probs.exp()
    contrib = torch.where(probs > 0, -probs * log_probs / LN2, 0.0)
    head_mass = torch.where(kept, probs, 0.0).sum(-1)
    tail_mass = torch.where(kept, 0.0, probs).sum(-1)
    head_sum = torch.where(kept, contrib, 0.0).sum(-1)
    tail_sum = torch.where(kept, 0.0, contrib).sum(-1)
    head = head_sum - token_entropy_bits(head_mass)
    tail = tail_sum - token_entropy_bits(tail_mass)
    return {
        "entropy": head_sum + tail_sum,
        "kept_mass": head_mass,
        "gate": (token_entropy_bits(head_mass) + token_entropy_bits(tail_mass)).clamp_min(0),
        "head": head,
        "tail": tail,
        "head_entropy": torch.where(head_mass > 0, head / head_mass.clamp_min(1e-300), 0.0),
        "tail_entropy": torch.where(tail_mass > 0, tail / tail_mass.clamp_min(1e-300), 0.0),
    }


def truncate_sorted(
    sorted_logits: torch.Tensor, temperature: float, top_k: int = 0, top_p: float = 1.0
) -> torch.Tensor:
    """`ssd.generation.decoding.transform` on logits already sorted in descending order (same order out).

    Temperature does not change the order, so one sort serves every T of a grid. Top-k keeps
    every token tied with the k-th (as `transform` does); top-p drops a token once the mass before
    it reaches top_p. Ties may be kept in a different order than `transform` keeps them, which
    changes neither the number of surviving tokens nor the entropy.
    """
    if temperature < GREEDY_BELOW:
        out = torch.zeros_like(sorted_logits)
        out[..., 0] = 1.0
        return out
    scaled = sorted_logits / temperature
    vocab = scaled.shape[-1]
    if 0 < top_k < vocab:
        scaled = scaled.masked_fill(scaled < scaled[..., top_k - 1 : top_k], float("-inf"))
    if top_p < 1.0:
        probs = scaled.softmax(-1)
        mass_before = probs.cumsum(-1) - probs
        scaled = scaled.masked_fill(mass_before >= top_p, float("-inf"))
    return scaled.softmax(-1)


TIE_MARGIN = 8
"""Extra ranks kept beyond the eval top-k so that tokens tied with the k-th stay in the window."""


def eval_window(logits: torch.Tensor, top: torch.Tensor, top_k: int) -> torch.Tensor:
    """The sorted logits the eval truncation needs: the top window when top-k cuts inside it.

    With eval top-k on, tokens below the k-th never survive, so the `top` window (k plus a margin)
    gives exactly the full vocabulary's result as long as every token tied with the k-th is inside
    it; otherwise (or with top-k off) the whole row is sorted. On a 152k vocabulary with k = 20
    this turns a sort and ten full-vocabulary passes per chunk into passes over ~28 numbers.
    """
    vocab = logits.shape[-1]
    if top.shape[-1] == vocab:
        return top
    if 0 < top_k < top.shape[-1] and bool((top[:, -1] < top[:, top_k - 1]).all()):
        return top
    return logits.sort(-1, descending=True).values


def training_support(
    logits: torch.Tensor, temperature: float, top_k: int = 0, top_p: float = 1.0
) -> torch.Tensor:
    """S_s as a (n, vocab) mask: `ssd.generation.decoding.support` of (T_train, k, p), on the top-k window.

    With training top-k on, only the k best tokens (and ties with the k-th) can be kept, so
    `support` runs on those ranks and is scattered back: the same set, without sorting the
    whole vocabulary. Otherwise (or when ties reach past the window) it runs on full rows.
    """
    vocab = logits.shape[-1]
    if top_k > 0 and top_k + TIE_MARGIN < vocab:
        top = logits.topk(top_k + TIE_MARGIN, dim=-1)
        if bool((top.values[:, -1] < top.values[:, top_k - 1]).all()):
            window = support(top.values, temperature, top_k, top_p)
            kept = torch.zeros_like(logits, dtype=torch.bool)
            return kept.scatter(-1, top.indices, window)
    return support(logits, temperature, top_k, top_p)
