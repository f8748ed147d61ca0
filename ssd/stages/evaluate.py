"""Stage `evaluate`: score one model under one decoding rule over a T_eval grid.

`evaluate(model, decoder, temperatures, seed, settings, generation, task, cache, label)` returns the
cached stage output whose results.json holds one row per T_eval. How a benchmark scores is its
spec's business (ssd/codeeval/benchmarks: the toy's pass@1 is exact, code benchmarks grade
programs in the sandbox). The key hashes the decoder without its temperature and the T_eval list,
so the base's grid is shared by every cell of a sweep.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ssd.artifacts import ModelRef, atomic_write_json
from ssd.cache import Cache, StageOutput
from ssd.codeeval.benchmarks import benchmark_of
from ssd.config.schema import EvalConfig
from ssd.generation.decoding import Decoder
from ssd.generation.sampler import Generation
from ssd.results import EvalRequest


def evaluate(
    model: ModelRef,
    decoder: Decoder,
    temperatures: list[float],
    seed: int,
    settings: EvalConfig,
    generation: Generation,
    task: Any,
    cache: Cache,
    label: str,
) -> StageOutput:
    """Run (or reuse) the evaluation of `model` under `decoder` at each T in `temperatures`.

    Args:
        decoder: the decoding rule; its temperature is replaced by each T_eval in turn.
        task: the benchmark spec's `task_settings` (the toy's language), else None.
        label: names the result (base, ssd_as_decoder, ssd, ...); not part of the key.
    """
    temperatures = [float(t) for t in temperatures]
    spec = benchmark_of(settings.benchmark.name)

    def compute(out: Path) -> dict[str, Any]:
        request = EvalRequest(
            model, decoder, temperatures, seed, settings, generation, task, out, label
        )
        result = spec.evaluate(request)
        atomic_write_json(out / "results.json", result.to_json())  # ssd.results.EvalResult
        best = max(result.rows, key=lambda r: r.pass_at_1)
        return {"best_t_eval": best.t_eval, "best_pass@1": best.pass_at_1}

    # "toy" names the task settings in the key: it was the only benchmark with any, and renaming
    # the entry would move every evaluate key.
    config = {"eval": settings, "model": generation.model, "prompt": generation.prompt, "toy": task}
    args = {
        "decoder": {k: v for k, v in decoder.as_dict().items() if k != "temperature"},
        "temperatures": temperatures,
        "backend": generation.backend,
        "seed": seed,
    }
    return cache.run("evaluate", compute, config, args, {"model": model.key})
