"""Stage `evaluate`: score one model under one decoding rule over a T_eval grid.

`evaluate(model, decoder, temperatures, seed, settings, generation, toy, cache, label)` returns the
cached stage output whose results.json holds one row per T_eval. On the toy pass@1 is exact
(ssd/toy/evaluate.py); on code benchmarks it is the unbiased estimate from programs graded in the
sandbox (ssd/codeeval/evaluate.py). The key hashes the decoder without its temperature and the
T_eval list, so the base's grid is shared by every cell of a sweep.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ssd.artifacts import ModelRef, atomic_write_json
from ssd.cache import Cache, StageOutput
from ssd.codeeval.evaluate import evaluate_code
from ssd.config.schema import EvalConfig, ToyTaskConfig
from ssd.generation.decoding import Decoder
from ssd.generation.sampler import Generation
from ssd.toy.evaluate import evaluate_toy


def evaluate(
    model: ModelRef,
    decoder: Decoder,
    temperatures: list[float],
    seed: int,
    settings: EvalConfig,
    generation: Generation,
    toy: ToyTaskConfig | None,
    cache: Cache,
    label: str,
) -> StageOutput:
    """Run (or reuse) the evaluation of `model` under `decoder` at each T in `temperatures`.

    Args:
        decoder: the decoding rule; its temperature is replaced by each T_eval in turn.
        toy: the toy language for `settings.benchmark.name=toy`, else None.
        label: names the result (base, ssd_as_decoder, ssd, ...); not part of the key.
    """
    temperatures = [float(t) for t in temperatures]

    def compute(out: Path) -> dict[str, Any]:
        if toy is not None:
            result = evaluate_toy(
                model, decoder, temperatures, seed, settings, generation, toy, label
            )
        else:
            result = evaluate_code(
                model, decoder, temperatures, seed, settings, generation, out, label
            )
        atomic_write_json(out / "results.json", result.to_json())  # ssd.results.EvalResult
        best = max(result.rows, key=lambda r: r.pass_at_1)
        return {"best_t_eval": best.t_eval, "best_pass@1": best.pass_at_1}

    config = {"eval": settings, "model": generation.model, "prompt": generation.prompt, "toy": toy}
    args = {
        "decoder": {k: v for k, v in decoder.as_dict().items() if k != "temperature"},
        "temperatures": temperatures,
        "backend": generation.backend,
        "seed": seed,
    }
    return cache.run("evaluate", compute, config, args, {"model": model.key})
