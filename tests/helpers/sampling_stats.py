"""Chi-square goodness of fit for sampled token counts, shared by the hf and vllm backend tests."""

from __future__ import annotations

import numpy as np
import torch
from scipy.stats import chi2


def chi_square_fits(counts: np.ndarray, expected_probs: np.ndarray, alpha: float = 1e-3) -> tuple:
    """(fits, statistic, threshold): counts vs n * expected_probs, pooling cells below 5 expected.

    A token outside the support (probability 0) that was sampled fails outright.
    """
    n = counts.sum()
    if counts[expected_probs == 0].sum() > 0:
        return False, float("inf"), 0.0
    support = expected_probs > 0
    observed, expected = counts[support].astype(float), n * expected_probs[support]
    small = expected < 5
    if small.any():  # pool the rare tokens into one cell so the chi-square approximation holds
        observed = np.append(observed[~small], observed[small].sum())
        expected = np.append(expected[~small], expected[small].sum())
    if len(expected) < 2:
        return True, 0.0, 0.0
    statistic = float(((observed - expected) ** 2 / expected).sum())
    threshold = float(chi2.ppf(1 - alpha, df=len(expected) - 1))
    return statistic < threshold, statistic, threshold


def first_token_probs(model, prompt_ids: list[int], decoder) -> np.ndarray:
    """The decoder's next-token distribution after `prompt_ids`, on the model's own device."""
    with torch.no_grad():
        ids = torch.tensor([prompt_ids], device=model.device)
        logits = model(input_ids=ids).logits[0, -1].float()
    return decoder.probs(logits).cpu().numpy()
