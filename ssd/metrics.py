"""pass@k and its uncertainty: small pure functions, apart from any I/O.

`pass_at_k` is the unbiased estimator of Chen et al. (2021), the one the SSD paper reports;
`bootstrap_ci` resamples problems, the unit that varies between benchmark draws.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k = 1 - C(n-c, k) / C(n, k) for one problem with c correct of n samples.

    Computed as a running product, 1 - prod_{i=n-c+1}^{n} (1 - k/i), which is exact in floating
    point for n up to thousands where the binomials themselves overflow.
    """
    if not 0 <= c <= n:
        raise ValueError(f"need 0 <= c <= n, got n={n}, c={c}")
    if not 1 <= k <= n:
        raise ValueError(f"need 1 <= k <= n, got n={n}, k={k}")
    if n - c < k:
        return 1.0
    terms = 1.0 - k / np.arange(n - c + 1, n + 1, dtype=np.float64)
    return float(1.0 - np.prod(terms))


def mean_pass_at_k(ns: Sequence[int], cs: Sequence[int], k: int) -> float:
    """pass@k averaged over problems."""
    return float(np.mean([pass_at_k(n, c, k) for n, c in zip(ns, cs, strict=True)]))


def bootstrap_ci(
    per_problem: Sequence[float], level: float = 0.95, n_boot: int = 2000, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of the mean over problems."""
    values = np.asarray(per_problem, dtype=np.float64)
    if values.size == 0:
        return (float("nan"), float("nan"))
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, values.size, size=(n_boot, values.size))].mean(axis=1)
    alpha = (1.0 - level) / 2.0
    low, high = np.quantile(means, [alpha, 1.0 - alpha])
    # The percentile interval of a mean can miss the point estimate by float noise only; clamp it.
    mean = float(values.mean())
    return (min(float(low), mean), max(float(high), mean))
