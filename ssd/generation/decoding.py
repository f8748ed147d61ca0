"""The decoding operator SSD samples with, and the SSD-as-decoder baseline built from it.

Everything that turns logits into a next-token distribution goes through `transform`, so the sampling
backends, the exact toy evaluator and the analysis all agree on one semantics: the order vLLM and HF
use (temperature, then top-k on the tempered logits, then top-p inside the survivors).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

GREEDY_BELOW = 1e-5
"""Temperatures below this decode greedily, as vLLM does."""


def transform(
    logits: torch.Tensor, temperature: float, top_k: int = 0, top_p: float = 1.0
) -> torch.Tensor:
    """Next-token probabilities after temperature, top-k and top-p truncation.

    Args:
        logits: raw scores, any leading shape, vocabulary on the last dimension. ``-inf`` marks a
            token that is already excluded.
        temperature: T; below ``GREEDY_BELOW`` the result is the one-hot argmax (greedy).
        top_k: keep the k largest tempered logits; 0 (or any k >= vocabulary) keeps all.
        top_p: inside the top-k survivors keep the smallest prefix, by descending probability, whose
            cumulative probability reaches ``top_p``; at least one token always survives.

    Returns:
        Probabilities with the same shape as ``logits``, summing to 1 on the last dimension.
    """
    logits = logits.float()
    if temperature < GREEDY_BELOW:
        return torch.nn.functional.one_hot(logits.argmax(-1), logits.shape[-1]).to(logits.dtype)
    scaled = logits / temperature
    vocab = scaled.shape[-1]
    if 0 < top_k < vocab:
        kth = torch.topk(scaled, top_k, dim=-1).values[..., -1:]
        scaled = scaled.masked_fill(scaled < kth, float("-inf"))
    if top_p < 1.0:
        sorted_logits, order = torch.sort(scaled, dim=-1, descending=True)
        sorted_probs = sorted_logits.softmax(-1)
        # A token is dropped when the mass strictly before it already reaches top_p, so the kept prefix
        # is the smallest one reaching top_p and the first token always stays.
        mass_before = sorted_probs.cumsum(-1) - sorted_probs
        drop_sorted = mass_before >= top_p
        drop = drop_sorted.scatter(-1, order, drop_sorted)
        scaled = scaled.masked_fill(drop, float("-inf"))
    return scaled.softmax(-1)


def support(logits: torch.Tensor, temperature: float, top_k: int = 0, top_p: float = 1.0):
    """Boolean mask of the tokens that (temperature, top_k, top_p) decoding can emit."""
    return transform(logits, temperature, top_k, top_p) > 0


@dataclass(frozen=True)
class Decoder:
    """A decoding rule: plain (T_eval, k, p), or the SSD-as-decoder baseline.

    The SSD-as-decoder baseline is what an ideally fitted SSD student decodes at T_eval
    (paper-notes §6): keep the support of the base model's training decoding
    (T_train, k_train, p_train), put probabilities proportional to p^(1/(T_train*T_eval)) on it, then
    apply the eval truncation (k_eval, p_eval). ``train_temperature=None`` means plain decoding.
    """

    temperature: float
    top_k: int = 0
    top_p: float = 1.0
    train_temperature: float | None = None
    train_top_k: int = 0
    train_top_p: float = 1.0

    @property
    def name(self) -> str:
        return "plain" if self.train_temperature is None else "ssd_as_decoder"

    def probs(self, logits: torch.Tensor) -> torch.Tensor:
        """Next-token probabilities of this rule for raw model logits."""
        if self.train_temperature is None:
            return transform(logits, self.temperature, self.top_k, self.top_p)
        logits = logits.float()
        kept = support(logits, self.train_temperature, self.train_top_k, self.train_top_p)
        restricted = logits.masked_fill(~kept, float("-inf")) / max(
            self.train_temperature, GREEDY_BELOW
        )
        return transform(restricted, self.temperature, self.top_k, self.top_p)

    def as_dict(self) -> dict:
        return {
            "decoder": self.name,
            "temperature": self.temperature,
            "top_k": self.top_k,
            "top_p": self.top_p,
            "train_temperature": self.train_temperature,
            "train_top_k": self.train_top_k,
            "train_top_p": self.train_top_p,
        }
