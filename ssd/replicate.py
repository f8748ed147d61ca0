"""One replicate (seed) of the pipeline: the base's evaluations, then each SSD round.

Part of the pipeline layer (ssd/pipeline.py runs one of these per seed), so it reads the whole
typed config and hands each stage only its slice. Every stage is reused when its output exists.
`plan_keys` runs the same calls on a plan-only cache: the keys a config will use, computing nothing.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ssd.artifacts import ModelRef, read_json, stable_hash
from ssd.cache import Cache, StageOutput
from ssd.codeeval.benchmarks import benchmark_of
from ssd.config.schema import Config, eval_temperatures
from ssd.data import pool_settings
from ssd.generation.decoding import Decoder
from ssd.generation.prompts import Prompt
from ssd.generation.sampler import generation_settings
from ssd.results import EvalResult, Replicate
from ssd.selection import apply_selection, choose_checkpoint, split_for
from ssd.stages.analyze import analysis_settings, analyze
from ssd.stages.evaluate import evaluate
from ssd.stages.filtering import filter_samples
from ssd.stages.finetune import finetune
from ssd.stages.sample import sample


def decoders(config: Config) -> tuple[Decoder, Decoder]:
    """The plain eval decoder and SSD-as-decoder (the base restricted to the training support)."""
    e, s = config.eval, config.sampling
    plain = Decoder(0.0, e.top_k, e.top_p)
    return plain, Decoder(0.0, e.top_k, e.top_p, s.temperature, s.top_k, s.top_p)


def analyze_enabled(config: Config) -> bool:
    """`analyze.enabled`: null = the benchmark's default (on for the toy); true/false forces it."""
    enabled = config.analyze.enabled
    if enabled is None:
        return benchmark_of(config.eval.benchmark.name).analyze_by_default
    return bool(enabled)


def problem_split(config: Config, result: EvalResult) -> dict | None:
    """The split of the problems `result` scores, None selecting on test."""
    return split_for(config.eval, result.n_problems)


def _evaluate(config: Config, cache: Cache, model: ModelRef, decoder, temps, seed, label):
    task = benchmark_of(config.eval.benchmark.name).task_settings(config)
    c = config
    generation = generation_settings(c.model, c.data.prompt, c.sampling, c.eval.batch_size)
    return evaluate(model, decoder, temps, seed, config.eval, generation, task, cache, label)


def _result(out: StageOutput) -> EvalResult:
    """The evaluate stage's results.json, typed."""
    return EvalResult.from_json(read_json(out.path / "results.json"))


def _selected(config: Config, out: StageOutput, seed: int) -> EvalResult:
    result = _result(out)
    return apply_selection(result, problem_split(config, result), config.eval.n_samples, seed)


def _checkpoints(config: Config, tuned: StageOutput) -> dict[int, ModelRef]:
    """Step -> ModelRef of the finetune checkpoints `eval.checkpoints` asks for."""
    saved = {int(step): folder for step, folder in tuned.metrics.get("checkpoints", {}).items()}
    if not saved:  # a plan: nothing saved yet, the final model stands for every checkpoint
        return {0: tuned.model}
    final, wanted = max(saved), config.eval.checkpoints
    steps = [final] if wanted == "final" else sorted(saved) if wanted == "all" else list(wanted)
    missing = sorted(set(steps) - set(saved))
    if missing:
        raise RuntimeError(
            f"eval.checkpoints: steps {missing} were not saved; saved: {sorted(saved)}"
        )
    return {
        step: ModelRef(
            tuned.path / saved[step],
            tuned.key if step == final else stable_hash({"finetune": tuned.key, "step": step}),
        )
        for step in sorted(steps)
    }


def _train(config: Config, cache: Cache, model: ModelRef, prompts, seed: int, tracker: Any):
    """sample -> filter -> finetune from `model`; the stage outputs."""
    pool_task = pool_settings(config.data, config.toy)
    samples = sample(
        model, prompts, seed, config.sampling, config.data, config.model, pool_task, cache
    )
    kept = filter_samples(samples, config.filter, cache)
    trust = config.model.trust_remote_code
    tuned = finetune(model, kept, seed, config.finetune, trust, cache, tracker)
    return samples, kept, tuned


def _round(config: Config, cache: Cache, model: ModelRef, prompts, seed, tracker, label) -> dict:
    """One SSD round from `model`: train, analyze, evaluate the requested checkpoints."""
    samples, kept, tuned = _train(config, cache, model, prompts, seed, tracker)
    stages = {"sample": samples, "filter": kept, "finetune": tuned}
    if analyze_enabled(config):
        settings = analysis_settings(config.sampling, config.eval)
        stages["analyze"] = analyze(
            model, tuned.model, kept, config.analyze, settings, config.model, cache
        )
        if tracker is not None:
            _log_analysis(tracker, stages["analyze"], f"{label}/seed{seed}")
    plain, _ = decoders(config)
    temps, evals, results = eval_temperatures(config), {}, {}
    for step, ref in _checkpoints(config, tuned).items():
        evals[step] = _evaluate(config, cache, ref, plain, temps, seed, label)
        if not cache.plan_only:
            results[step] = _selected(config, evals[step], seed)
    for step, out in evals.items():
        stages[f"evaluate/{label}" + (f"@{step}" if len(evals) > 1 else "")] = out
    done = {"next_model": tuned.model, "stages": stages}
    if results:
        chosen, table = choose_checkpoint(results)
        done["result"] = replace(results[chosen], checkpoint_step=chosen, checkpoints=table)
        if "analyze" in stages:  # the analyze stage's summary (ssd/stages/analyze.py)
            done["fork_lock"] = stages["analyze"].metrics
    return done


def _log_analysis(tracker: Any, out: StageOutput, tag: str) -> None:
    tracker.summary({f"analyze/{tag}/{k}": v for k, v in out.metrics.items()})
    for png in sorted(out.path.glob("*.png")):
        tracker.image(f"analyze/{tag}/{png.stem}", png)


def _baselines(config: Config, cache: Cache, base: ModelRef, seed: int) -> dict[str, StageOutput]:
    """The base over the whole grid (shared by every cell of a sweep, so its best T_eval is the
    baseline), a cell's off-grid T_eval beside it, and SSD-as-decoder at the cell's T_eval."""
    plain, ssd_as_decoder = decoders(config)
    grid, temps = [float(t) for t in config.eval.temperatures], eval_temperatures(config)
    evals = {
        "base": _evaluate(config, cache, base, plain, grid, seed, "base"),
        "ssd_as_decoder": _evaluate(
            config, cache, base, ssd_as_decoder, temps, seed, "ssd_as_decoder"
        ),
    }
    off_grid = [t for t in temps if t not in grid]
    if off_grid:
        evals["base_off_grid"] = _evaluate(config, cache, base, plain, off_grid, seed, "base")
    return evals


def run_replicate(
    config: Config, cache: Cache, base: ModelRef, prompts: list[Prompt], seed: int, tracker: Any
) -> Replicate:
    """All stages for one seed and every round: the per-seed entry of results.json."""
    evals = _baselines(config, cache, base, seed)
    replicate = {"base": _result(evals["base"]), "ssd_as_decoder": _result(evals["ssd_as_decoder"])}
    if "base_off_grid" in evals:
        rows = replicate["base"].rows + _result(evals["base_off_grid"]).rows
        replicate["base"] = replace(replicate["base"], rows=sorted(rows, key=lambda r: r.t_eval))
    for label in list(replicate):
        result = replicate[label]
        split = problem_split(config, result)
        replicate[label] = apply_selection(result, split, config.eval.n_samples, seed)
    stages: dict[str, Any] = {}
    fork_lock: dict[str, dict[str, Any]] = {}
    model = base
    for r in range(1, config.rounds + 1):  # round r samples from round r-1's final model
        label = "ssd" if r == 1 else f"ssd_round{r}"
        done = _round(config, cache, model, prompts, seed, tracker, label)
        replicate[label], model = done["result"], done["next_model"]
        if "fork_lock" in done:
            fork_lock[label] = done["fork_lock"]
        prefix = "" if r == 1 else f"round{r}/"
        stages.update({prefix + name: out.summary() for name, out in done["stages"].items()})
    stages.update({f"evaluate/{k}": {"key": v.key, "reused": v.reused} for k, v in evals.items()})
    return Replicate(seed=seed, results=replicate, stages=stages, fork_lock=fork_lock)


def plan_keys(config: Config, cache: Cache, base: ModelRef, seed: int) -> dict[str, str]:
    """The keys the first round of one replicate will use, from a plan-only cache."""
    keys = {f"evaluate/{k}": v.key for k, v in _baselines(config, cache, base, seed).items()}
    done = _round(config, cache, base, [], seed, None, "ssd")
    return {**keys, **{name: out.key for name, out in done["stages"].items()}}
