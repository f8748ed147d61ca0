"""The SSD pipeline for one config: base -> sample -> filter -> finetune -> analyze -> evaluate -> report.

`run(cfg, output_dir)` validates, turns the composed config into the typed schema once (the only
place that reads the whole config: each stage gets its slice), runs each replicate's stages
through the content-addressed cache (so a sweep over eval.temperature never resamples or
retrains) and writes the run's report. It returns the summary; the Hydra job's objective is the
SSD model's best mean pass@1. `stage_keys(cfg)` says which keys a config will use, computing nothing.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from ssd.artifacts import atomic_write_json, read_json
from ssd.cache import RUN_DROPS, STAGE_VERSIONS, Cache, ShardsPending, StageOutput, identity
from ssd.codeeval.benchmarks import benchmark_of
from ssd.config.schema import Config, eval_temperatures
from ssd.contamination import Overlap, check_pool
from ssd.data import load_prompts
from ssd.disk_estimate import check_space
from ssd.job_tasks import task_rank, wait_for_task_zero
from ssd.preflight import preflight
from ssd.report.html import run_page, write_page
from ssd.report.run import format_table, isolation_line, summarize, write_report
from ssd.results import EvalResult, RunSummary
from ssd.selection import split_for
from ssd.tracking import make_tracker
from ssd.validation import validate


def typed(cfg: DictConfig) -> Config:
    """The composed config as the schema's dataclasses: what every stage slice is cut from."""
    return OmegaConf.to_object(cfg)


def run_record_args(config: Config) -> dict[str, Any]:
    """What a run's numbers depend on: the whole config except where files go and how progress
    is logged (KeyRole.RUNTIME), and the code version of every stage.

    Work-split fields (sampling shards) stay in although they change no number: the record's
    lock is held for the whole run, and array tasks that differ only in `shard_id` must not wait
    for each other's sampling.
    """
    return {"config": identity(config, RUN_DROPS), "stage_versions": STAGE_VERSIONS}


def run(cfg: DictConfig, output_dir: Path, tracker_factory: Any = None) -> dict[str, Any] | None:
    """Validate, run every replicate, write results.json + PNG; returns the summary.

    The finished run is itself cached (stage `run`, keyed by everything in the config that can
    change a number): a cell of a finished sweep copies its report from there without loading a
    model or even importing torch, which is what makes rerunning a whole grid nearly free.

    Returns None for a SLURM array task that wrote its share of sampling shards while others are
    still missing: it did its part, and the task that writes the last shard goes on.
    """
    if task_rank():  # a multi-task SLURM job runs the pipeline once, in task 0
        wait_for_task_zero()
        return None
    validate(cfg)
    preflight(cfg)  # hub items reachable or cached, in seconds, before any compute
    config = typed(cfg)
    cache = Cache.for_paths(config.paths)
    record_args = run_record_args(config)
    # Data is validated before any compute; a finished record needs none of it.
    finished = cache.finished("run", cache.key("run", args=record_args))
    prompts = None if finished else load_prompts(config.data, config.toy)
    overlap = None if finished else _check_pool(config, prompts)
    resolved = OmegaConf.to_container(cfg, resolve=True, enum_to_str=True)
    output_dir.mkdir(parents=True, exist_ok=True)
    tracker = (tracker_factory or make_tracker)(config.logger, output_dir, config.name, resolved)

    def compute(folder: Path) -> dict[str, Any]:
        from ssd.models import cpu_threads  # torch: only a run that computes needs it

        pool = prompts or load_prompts(config.data, config.toy)
        pool_overlap = overlap or _check_pool(config, pool)
        check_space(config, cache, pool)  # refuse before compute when the disk cannot hold it
        with cpu_threads(config.cpu_threads):
            summary = _run_stages(config, cache, pool, pool_overlap, folder, tracker, resolved)
        return {"best": summary.to_json()["best"]}

    exit_code = 1
    try:
        done = cache.run("run", compute, args=record_args)
        summary, paths = _publish(done, output_dir)
        print(format_table(summary))
        if sandbox := isolation_line(read_json(paths["results"]).get("problem_set", {})):
            print(sandbox)
        print(f"\nresults: {paths['results']}\nplot:    {paths['plot']}\npage:    {paths['page']}")
        _track(tracker, summary, paths)
        exit_code = 0
        return summary.to_json()
    except ShardsPending as pending:
        print(pending)
        exit_code = 0
        return None
    except OmegaConfBaseException as err:  # a bug in stage code, not a config error: keep exit 1
        raise RuntimeError(f"config access failed inside a stage: {err}") from err
    finally:
        tracker.finish(exit_code)


def _check_pool(config: Config, prompts: list) -> Overlap:
    """The contamination guard, before any compute (it loads the evaluation problems)."""
    return check_pool(prompts, config.data, config.eval.benchmark, config.toy)


def _stages():
    # Lazy: importing the stages imports torch, which a finished run (its record reused) never needs.
    from ssd import replicate
    from ssd.stages.base import resolve_base

    return replicate, resolve_base


def stage_keys(cfg: DictConfig) -> dict[str, str]:
    """Every stage key of the first replicate's first round, derived from the config alone.

    The stages themselves compute them, on a plan-only cache (nothing runs), so these are the
    keys a run uses; tests pin them for every preset (tests/golden/stage_keys.json).
    """
    replicate, resolve_base = _stages()
    config = typed(cfg)
    cache = Cache.at(config.paths.cache_dir, plan_only=True)
    base = resolve_base(config.model, config.toy, cache)
    keys = replicate.plan_keys(config, cache, base.model, config.sampling.seed)
    return {"base": base.key, **keys, "run": cache.key("run", args=run_record_args(config))}


def _publish(done: StageOutput, output_dir: Path) -> tuple[RunSummary, dict[str, Path]]:
    """Copy the run record's report into this job's output dir, saying whether it was reused."""
    results = read_json(done.path / "results.json")
    results["run"] = {"key": done.key, "record": str(done.path), "reused": done.reused}
    paths = {"results": output_dir / "results.json", "plot": output_dir / "pass_at_1.png"}
    atomic_write_json(paths["results"], results)
    shutil.copyfile(done.path / "pass_at_1.png", paths["plot"])
    # Rendered here, not copied: the page names this job's run record, and older records lack one.
    paths["page"] = write_page(output_dir / "report.html", run_page(results, paths["plot"]))
    return RunSummary.from_json(results["summary"]), paths


def _run_stages(
    config: Config,
    cache: Cache,
    prompts: list,
    overlap: Overlap,
    folder: Path,
    tracker: Any,
    resolved: dict,
) -> RunSummary:
    replicate, resolve_base = _stages()
    base = resolve_base(config.model, config.toy, cache)
    seeds = [config.sampling.seed + r for r in range(config.replicates)]
    replicates = [
        replicate.run_replicate(config, cache, base.model, prompts, seed, tracker) for seed in seeds
    ]
    n_problems = replicates[0].results["base"].n_problems
    note = _selection_note(config, n_problems)
    summary = summarize(replicates, config.sampling.temperature, note)
    s, e = config.sampling, config.eval
    meta = {
        "config": resolved,
        "seeds": seeds,
        "problem_set": {
            **_problem_set(config, n_problems, replicates[0].results["base"]),
            "pool_overlap": overlap.to_json(),
        },
        "base_model": {"path": str(base.model.path), "key": base.key},
        "decoding": {
            "train": {"temperature": s.temperature, "top_k": s.top_k, "top_p": s.top_p},
            "eval": {"temperatures": eval_temperatures(config), "top_k": e.top_k, "top_p": e.top_p},
        },
        "replicates": [rep.to_json() for rep in replicates],
    }
    write_report(folder, summary, meta)
    return summary


def _problem_set(config: Config, n_problems: int, base: EvalResult) -> dict[str, Any]:
    """What was scored and how: enough to know two results are comparable."""
    e = config.eval
    spec = benchmark_of(e.benchmark.name)
    record = spec.problem_record(e, spec.task_settings(config), base)
    return {**record, "selection": str(e.selection), "split": split_for(e, n_problems)}


def _selection_note(config: Config, n_problems: int) -> str:
    """How the reported checkpoint and T_eval were chosen, in words for the report."""
    e = config.eval
    which = f"checkpoints={e.checkpoints}"
    if e.selection == "validation":
        split = split_for(e, n_problems)
        return (
            f"chosen on a held-out validation split of {len(split['validation'])} problems "
            f"(eval.split_seed={e.split_seed}, ids in results.json problem_set.split; {which}); "
            f"pass@1 reported on the other {len(split['test'])}"
        )
    return f"chosen on the evaluation problems themselves (no held-out split; {which})"


def _track(tracker: Any, summary: RunSummary, paths: dict[str, Path]) -> None:
    best = summary.best
    flat = {f"eval/{label}/best_pass@1": b.pass_at_1 for label, b in best.items()}
    flat.update({f"eval/{label}/best_t_eval": b.t_eval for label, b in best.items()})
    flat.update({f"eval/{label}/best_t_eff": b.t_eff for label, b in best.items()})
    for label, b in best.items():
        if b.ci95 is not None:
            (
                flat[f"eval/{label}/best_pass@1_ci95_low"],
                flat[f"eval/{label}/best_pass@1_ci95_high"],
            ) = b.ci95
    for c in summary.comparisons:  # e.g. compare/ssd_vs_base/diff
        key = "compare/" + c.name.replace(" best", "").replace(" ", "_").lower()
        flat.update(
            {f"{key}/diff": c.diff, f"{key}/ci95_low": c.ci95[0], f"{key}/ci95_high": c.ci95[1]}
        )
    for label, diag in summary.diagnostics.items():
        flat.update({f"analyze/{label}/{k}": v for k, v in diag.to_json().items() if v is not None})
    tracker.summary(flat)
    columns = ["decoder", "t_eval", "t_eff", "pass@1", "pass@1_min", "pass@1_max"]
    rows = [
        [label, p.t_eval, p.t_eff, p.pass_at_1, p.pass_at_1_min, p.pass_at_1_max]
        for label, curve in summary.curves.items()
        for p in curve
    ]
    tracker.table("eval/pass_at_1", columns, rows)
    tracker.image("eval/pass_at_1_plot", paths["plot"])
