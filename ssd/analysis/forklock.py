"""Fork/lock statistics of a base vs SSD model pair on shared teacher-forced contexts (paper App. B).

Pure maths, no I/O: `ForkLockAccumulator.update(base_logits, ssd_logits)` takes both models' logits
at the same positions, shape (n_positions, vocab), one chunk at a time, and keeps only running sums,
so no caller ever holds all logits; `result()` returns JSON-ready statistics. Position s is labelled
by the base model's training support S_s (the tokens (T_train, k, p) decoding can emit,
`ssd.generation.decoding.support`): |S_s| = 1 is a lock, >= 2 a fork. Both models are measured against the
base's S_s, which is what SSD trains on: KeptMass(s) = sum over S_s of p(v|s), and the entropy split
H = h2(KeptMass) [gate] + KeptMass*H(head) + (1-KeptMass)*H(tail), head/tail = p renormalised on
S_s / off it. Entropies are in bits. Eval-truncation statistics (surviving tokens, entropy after
truncation) follow `ssd.generation.decoding.transform` exactly but sort each chunk once for the whole T grid
(with eval top-k on, only its top ranks). The per-position maths lives in `ssd.analysis.ops`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch

from ssd.analysis.ops import (
    TIE_MARGIN,
    entropy_split_from_logits,
    eval_window,
    token_entropy_bits,
    training_support,
    truncate_sorted,
)

GROUPS = ("all", "lock", "fork")
MODELS = ("base", "ssd")


@dataclass(frozen=True)
class AnalysisSettings:
    """What the analysis measures; field names follow the paper's symbols.

    Attributes:
        train_temperature, train_top_k, train_top_p: the SSD sampling decoding (T_train, k, p)
            whose support S_s labels each position (top_k 0 = off).
        eval_temperatures: the T_eval grid of the truncation statistics.
        eval_top_k, eval_top_p: the eval truncation applied at every T_eval.
        top_mass_k: positions are stratified by the base's mass on its top `top_mass_k` tokens...
        mass_bins: ...into bins with these lower edges (descending), plus a last bin below them.
        max_rank: length of the cumulative-mass-vs-rank curve.
        entropy_bin_bits, entropy_max_bits: the per-position entropy histogram's bins.
        support_size_max: support sizes >= this share the histogram's last bin.
    """

    train_temperature: float
    train_top_k: int = 0
    train_top_p: float = 1.0
    eval_temperatures: tuple[float, ...] = (0.2, 0.4, 0.6, 0.8, 1.0, 1.2, 1.4, 1.6, 1.8, 2.0)
    eval_top_k: int = 0
    eval_top_p: float = 1.0
    top_mass_k: int = 20
    mass_bins: tuple[float, ...] = (0.999, 0.995, 0.99, 0.98, 0.95)
    max_rank: int = 64
    entropy_bin_bits: float = 0.1
    entropy_max_bits: float = 18.0  # log2 of a 262k vocabulary
    support_size_max: int = 32

    def bin_labels(self) -> list[str]:
        edges = [f"{100 * e:g}%" for e in self.mass_bins]
        return (
            [f">={edges[0]}"]
            + [f"{lo}-{hi}" for hi, lo in zip(edges, edges[1:], strict=False)]
            + [f"<{edges[-1]}"]
        )


class ForkLockAccumulator:
    """Running sums of every statistic, per model (base, ssd) and group (all, lock, fork)."""

    def __init__(self, settings: AnalysisSettings):
        self.settings = settings
        s = settings
        n_t, n_bins = len(s.eval_temperatures), len(s.mass_bins) + 1
        n_hist = int(round(s.entropy_max_bits / s.entropy_bin_bits))
        self.sums: dict[str, dict[str, dict[str, torch.Tensor]]] = {
            model: {
                group: {
                    "n_positions": torch.zeros((), dtype=torch.float64),
                    **{k: torch.zeros((), dtype=torch.float64) for k in SCALARS},
                    "entropy_histogram": torch.zeros(n_hist, dtype=torch.float64),
                    "cumulative_mass": torch.zeros(s.max_rank, dtype=torch.float64),
                    "surviving_tokens": torch.zeros(n_t, dtype=torch.float64),
                    "truncated_entropy": torch.zeros(n_t, dtype=torch.float64),
                    "bin_positions": torch.zeros(n_bins, dtype=torch.float64),
                    "bin_surviving_tokens": torch.zeros(n_bins, n_t, dtype=torch.float64),
                    "bin_truncated_entropy": torch.zeros(n_bins, n_t, dtype=torch.float64),
                }
                for group in GROUPS
            }
            for model in MODELS
        }
        self.support_sizes = torch.zeros(s.support_size_max, dtype=torch.float64)

    @torch.no_grad()
    def update(self, base_logits: torch.Tensor, ssd_logits: torch.Tensor) -> None:
        """Add one chunk: both models' logits at the same positions, (n, vocab) each."""
        if base_logits.shape != ssd_logits.shape or base_logits.dim() != 2:
            raise ValueError(
                f"analyze: base logits {tuple(base_logits.shape)} and SSD logits "
                f"{tuple(ssd_logits.shape)} must both be (n_positions, vocab)"
            )
        s = self.settings
        kept = training_support(base_logits, s.train_temperature, s.train_top_k, s.train_top_p)
        size = kept.sum(-1)
        groups = {
            "all": torch.ones_like(size, dtype=torch.bool),
            "lock": size == 1,
            "fork": size >= 2,
        }
        sizes = (size.clamp(max=s.support_size_max) - 1).cpu()
        self.support_sizes += torch.bincount(sizes, minlength=s.support_size_max).double()
        stats = {"base": self._per_position(base_logits.double(), kept)}
        stats["ssd"] = self._per_position(ssd_logits.double(), kept)
        # Both models' positions are binned by the base's top-k mass, so each bin holds the same
        # positions for both and the curves compare like with like.
        edges = torch.tensor(s.mass_bins, dtype=torch.float64, device=base_logits.device)
        bins = (stats["base"]["top_mass"].unsqueeze(-1) < edges).sum(-1)  # 0 = ">= first edge"
        for model, per_position in stats.items():
            for group, mask in groups.items():
                self._add(self.sums[model][group], per_position, mask, bins)

    def _per_position(self, logits: torch.Tensor, kept: torch.Tensor) -> dict:
        s = self.settings
        split = entropy_split_from_logits(logits, kept)
        window = max(s.max_rank, s.top_mass_k, s.eval_top_k + TIE_MARGIN if s.eval_top_k else 0)
        top = logits.topk(min(window, logits.shape[-1]), dim=-1).values  # descending
        top_probs = (top - logits.logsumexp(-1, keepdim=True)).exp()
        cumulative = top_probs[:, : s.max_rank].cumsum(-1)
        if cumulative.shape[-1] < s.max_rank:  # a vocabulary smaller than max_rank: mass is 1
            pad = cumulative[:, -1:].expand(-1, s.max_rank - cumulative.shape[-1])
            cumulative = torch.cat([cumulative, pad], -1)
        ordered = eval_window(logits, top, s.eval_top_k)
        truncated = [
            truncate_sorted(ordered, t, s.eval_top_k, s.eval_top_p) for t in s.eval_temperatures
        ]
        return {
            **split,
            "distractor_mass": 1.0 - split["kept_mass"],
            "top_mass": top_probs[:, : s.top_mass_k].sum(-1),
            "cumulative_mass": cumulative,
            "surviving_tokens": torch.stack([(p > 0).sum(-1).double() for p in truncated], -1),
            "truncated_entropy": torch.stack(
                [token_entropy_bits(p).sum(-1) for p in truncated], -1
            ),
        }

    def _add(self, sums: dict, stats: dict, mask: torch.Tensor, bins: torch.Tensor) -> None:
        s = self.settings
        if not bool(mask.any()):
            return
        sums["n_positions"] += float(mask.sum())
        for key in SCALARS:
            sums[key] += float(stats[key][mask].sum())
        hist = (
            (stats["entropy"][mask] / s.entropy_bin_bits)
            .long()
            .clamp(0, len(sums["entropy_histogram"]) - 1)
        )
        sums["entropy_histogram"] += torch.bincount(
            hist.cpu(), minlength=len(sums["entropy_histogram"])
        ).double()
        for key in ("cumulative_mass", "surviving_tokens", "truncated_entropy"):
            sums[key] += stats[key][mask].sum(0).cpu()
        one_hot = torch.nn.functional.one_hot(bins[mask], len(s.mass_bins) + 1).double()
        sums["bin_positions"] += one_hot.sum(0).cpu()
        sums["bin_surviving_tokens"] += (one_hot.T @ stats["surviving_tokens"][mask]).cpu()
        sums["bin_truncated_entropy"] += (one_hot.T @ stats["truncated_entropy"][mask]).cpu()

    def result(self) -> dict:
        """Means per model and group, the T_eval curves, histograms and the headline summary."""
        s = self.settings
        models = {
            model: {group: _means(self.sums[model][group]) for group in GROUPS} for model in MODELS
        }
        total = float(self.support_sizes.sum())
        sizes = torch.arange(1, s.support_size_max + 1, dtype=torch.float64)
        summary = {
            "n_positions": int(total),
            "lock_fraction": _ratio(self.sums["base"]["lock"]["n_positions"], total),
            "mean_support_size": _ratio((self.support_sizes * sizes).sum(), total),
        }
        for model in MODELS:
            summary[model] = {
                "lock_distractor_mass": models[model]["lock"]["distractor_mass"],
                "fork_entropy_bits": models[model]["fork"]["entropy"],
                "fork_kept_mass": models[model]["fork"]["kept_mass"],
                "entropy_bits": models[model]["all"]["entropy"],
            }
        return {
            "settings": {**asdict(s), "mass_bin_labels": s.bin_labels()},
            "summary": summary,
            "support_size_histogram": {
                "sizes": sizes.long().tolist(),
                "counts": self.support_sizes.long().tolist(),
                "last_bin": f">= {s.support_size_max}",
            },
            "models": models,
        }


SCALARS = (
    "entropy", "kept_mass", "distractor_mass", "gate", "head", "tail", "head_entropy",
    "tail_entropy",
)  # fmt: skip
"""Per-position scalars whose mean is reported for each model and group."""


def _ratio(numerator: torch.Tensor | float, denominator: torch.Tensor | float) -> float | None:
    denominator = float(denominator)
    return float(numerator) / denominator if denominator > 0 else None


def _means(sums: dict[str, torch.Tensor]) -> dict:
    n = float(sums["n_positions"])
    out: dict = {"n_positions": int(n)}
    for key in SCALARS:
        out[key] = _ratio(sums[key], n)
    out["entropy_histogram"] = sums["entropy_histogram"].long().tolist()
    for key in ("cumulative_mass", "surviving_tokens", "truncated_entropy"):
        out[key] = (sums[key] / n).tolist() if n > 0 else None
    per_bin = sums["bin_positions"].clamp_min(1).unsqueeze(-1)
    empty = (sums["bin_positions"] == 0).tolist()
    out["by_top_mass_bin"] = {
        "n_positions": sums["bin_positions"].long().tolist(),
        **{
            key: [
                None if is_empty else row
                for is_empty, row in zip(
                    empty, (sums[f"bin_{key}"] / per_bin).tolist(), strict=True
                )
            ]
            for key in ("surviving_tokens", "truncated_entropy")
        },
    }
    return out
