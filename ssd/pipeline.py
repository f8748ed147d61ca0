"""The SSD pipeline for one config: base -> sample -> filter -> finetune -> evaluate -> report.

`run(cfg)` validates, then runs each replicate's stages through the content-addressed cache (so a
sweep over eval.temperature never resamples or retrains) and writes the run's report. It returns the
summary; the Hydra job's objective is the SSD model's best mean pass@1.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from ssd.config.schema import eval_temperatures
from ssd.config.validation import validate
from ssd.data import load_prompts
from ssd.report.run import format_table

log = logging.getLogger(__name__)


def _decoders(cfg: Any):
    from ssd.generation.decoding import Decoder

    e, s = cfg.eval, cfg.sampling
    plain = Decoder(0.0, e.top_k, e.top_p)
    ssd_as_decoder = Decoder(0.0, e.top_k, e.top_p, s.temperature, s.top_k, s.top_p)
    return plain, ssd_as_decoder


def _split(cfg: Any, result: dict[str, Any] | None = None) -> dict[str, list[int]] | None:
    """The validation/test split of the problems (as many as `result` scores; default: the toy's),
    or None when selecting on test."""
    if cfg.eval.selection != "validation":
        return None
    from ssd.selection import split_problems

    n = len(result["rows"][0]["pass@1_per_problem"]) if result else cfg.toy.n_instances
    return split_problems(n, cfg.eval.validation_fraction, cfg.eval.split_seed)


def _checkpoints_to_evaluate(cfg: Any, tuned: Any) -> dict[int, Any]:
    """Step -> ModelRef of the finetune checkpoints `eval.checkpoints` asks for."""
    from ssd.cache import stable_hash
    from ssd.stages.base import ModelRef

    saved = {int(step): folder for step, folder in tuned.metrics["checkpoints"].items()}
    final = max(saved)
    wanted = cfg.eval.checkpoints
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


def _round(cfg: Any, model: Any, prompts: list, seed: int, tracker: Any, label: str) -> dict:
    """One SSD round from `model`: sample, filter, finetune, evaluate the requested checkpoints."""
    from ssd.cache import read_json
    from ssd.selection import apply_selection, choose_checkpoint
    from ssd.stages.analyze import analyze_after_finetune
    from ssd.stages.base import ModelRef
    from ssd.stages.evaluate import evaluate
    from ssd.stages.filtering import filter_samples
    from ssd.stages.finetune import finetune
    from ssd.stages.sample import sample

    samples = sample(cfg, model.path, model.key, prompts, seed)
    kept = filter_samples(cfg, samples)
    tuned = finetune(cfg, model.path, model.key, kept, seed, tracker)
    fork_lock, analyze_stage = analyze_after_finetune(
        cfg, model, ModelRef(tuned.path / "model", tuned.key), kept, tracker, f"{label}/seed{seed}"
    )
    plain, _ = _decoders(cfg)
    evals, results = {}, {}
    for step, ref in _checkpoints_to_evaluate(cfg, tuned).items():
        evals[step] = evaluate(cfg, ref, plain, eval_temperatures(cfg), seed, label)
        result = read_json(evals[step].path / "results.json")
        results[step] = apply_selection(result, _split(cfg, result), cfg.eval.n_samples, seed)
    chosen, table = choose_checkpoint(results)
    return {
        "result": {**results[chosen], "checkpoint_step": chosen, "checkpoints": table},
        "next_model": ModelRef(tuned.path / "model", tuned.key),
        "fork_lock": fork_lock,
        "stages": {
            "sample": {"key": samples.key, "reused": samples.reused, **samples.metrics},
            "filter": {"key": kept.key, "reused": kept.reused, **kept.metrics},
            "finetune": {"key": tuned.key, "reused": tuned.reused, **tuned.metrics},
            **analyze_stage,
            **{
                f"evaluate/{label}" + (f"@{step}" if len(evals) > 1 else ""): {
                    "key": out.key,
                    "reused": out.reused,
                }
                for step, out in evals.items()
            },
        },
    }


def run_replicate(cfg: Any, base: Any, prompts: list, seed: int, tracker: Any) -> dict[str, Any]:
    """All stages for one seed and every round; every stage is reused when its output exists."""
    from ssd.cache import read_json
    from ssd.selection import apply_selection
    from ssd.stages.evaluate import evaluate

    plain, ssd_as_decoder = _decoders(cfg)
    temperatures = eval_temperatures(cfg)
    evals = {
        "base": evaluate(cfg, base, plain, [float(t) for t in cfg.eval.temperatures], seed, "base"),
        "ssd_as_decoder": evaluate(cfg, base, ssd_as_decoder, temperatures, seed, "ssd_as_decoder"),
    }
    replicate = {label: read_json(out.path / "results.json") for label, out in evals.items()}
    # The base's own sweep always covers the whole grid (shared by every cell of a sweep), so its
    # best temperature is the baseline; a cell's off-grid T_eval is evaluated on its own beside it.
    off_grid = [t for t in temperatures if t not in cfg.eval.temperatures]
    if off_grid:
        extra = evaluate(cfg, base, plain, off_grid, seed, "base")
        evals["base_off_grid"] = extra
        rows = replicate["base"]["rows"] + read_json(extra.path / "results.json")["rows"]
        replicate["base"]["rows"] = sorted(rows, key=lambda row: row["t_eval"])
    for label in list(replicate):
        result = replicate[label]
        replicate[label] = apply_selection(result, _split(cfg, result), cfg.eval.n_samples, seed)
    stages: dict[str, Any] = {}
    model = base
    for r in range(1, cfg.rounds + 1):  # round r samples from round r-1's final model
        label = "ssd" if r == 1 else f"ssd_round{r}"
        done = _round(cfg, model, prompts, seed, tracker, label)
        replicate[label], model = done["result"], done["next_model"]
        if done["fork_lock"] is not None:  # the analyze stage's summary (ssd/analyze_stage.py)
            replicate.setdefault("fork_lock", {})[label] = done["fork_lock"]
        prefix = "" if r == 1 else f"round{r}/"
        stages.update({prefix + name: info for name, info in done["stages"].items()})
    replicate["seed"] = seed
    replicate["stages"] = {
        **stages,
        **{f"evaluate/{k}": {"key": v.key, "reused": v.reused} for k, v in evals.items()},
    }
    return replicate


def _problem_set(cfg: Any, replicates: list[dict[str, Any]]) -> dict[str, Any]:
    """What was scored and how: enough to know two results are comparable."""
    common = {"selection": cfg.eval.selection, "split": _split(cfg, replicates[0]["base"])}
    if cfg.eval.benchmark.name != "toy":  # the evaluator recorded ids hash, tests, extraction
        return {**replicates[0]["base"]["benchmark"], **common}
    ids = [f"toy-{i}" for i in range(cfg.toy.n_instances)]
    return {
        "benchmark": cfg.eval.benchmark.name,
        "n_problems": len(ids),
        "ids_sha256": hashlib.sha256(json.dumps(sorted(ids)).encode()).hexdigest(),
        "prompts": [f"P{i}" for i in range(cfg.toy.n_instances)],
        **common,
        "extraction": "toy: completion tokens read one to one; passes iff every token is valid and "
        "the sequence ends with EOS at the solution's length",
        "pass@1": "exact: sum over all valid sequences of their probability under the decoder",
        "pass@k": f"unbiased estimator over eval.n_samples={cfg.eval.n_samples} samples per problem",
    }


def run(cfg: Any, output_dir: Path, tracker_factory: Any = None) -> dict[str, Any] | None:
    """Validate, run every replicate, write results.json + PNG; returns the summary.

    The finished run is itself cached (stage `run`, keyed by everything in the config that can
    change a number): a cell of a finished sweep copies its report from there without loading a
    model or even importing torch, which is what makes rerunning a whole grid nearly free.

    Returns None for a SLURM array task that wrote its share of sampling shards while others are
    still missing: it did its part, and the task that writes the last shard goes on.
    """
    from ssd.cache import MANIFEST, ShardsPending, run_stage, stage_paths
    from ssd.job_tasks import task_rank, wait_for_task_zero

    if task_rank():  # a multi-task SLURM job runs the pipeline once, in task 0
        wait_for_task_zero()
        return None
    validate(cfg)
    config = OmegaConf.to_container(cfg, resolve=True)
    spec = run_spec(config)
    _, record, _ = stage_paths(cfg.paths.cache_dir, "run", spec, {})
    # Data is validated before any compute; a finished record needs none of it.
    prompts = None if (record / MANIFEST).is_file() else load_prompts(cfg)
    from ssd.tracking import make_tracker

    output_dir.mkdir(parents=True, exist_ok=True)
    tracker = (tracker_factory or make_tracker)(cfg.logger, output_dir, cfg.name, config)

    def compute(folder: Path) -> dict[str, Any]:
        summary = _run_stages(cfg, prompts or load_prompts(cfg), folder, tracker, config)
        return {"best": summary["best"]}

    exit_code = 1
    try:
        done = run_stage(cfg.paths.cache_dir, "run", spec, {}, compute)
        summary, paths = _publish(done, output_dir)
        print(format_table(summary))
        print(f"\nresults: {paths['results']}\nplot:    {paths['plot']}")
        _track(tracker, summary, paths)
        exit_code = 0
        return summary
    except ShardsPending as pending:
        print(pending)
        exit_code = 0
        return None
    except OmegaConfBaseException as err:  # a bug in stage code, not a config error: keep exit 1
        raise RuntimeError(f"config access failed inside a stage: {err}") from err
    finally:
        tracker.finish(exit_code)


def run_spec(config: dict[str, Any]) -> dict[str, Any]:
    """What a run's numbers depend on: the resolved config except where files go and how progress
    is logged, and the code version of every stage.

    Work-split keys (batch sizes, sampling shards) stay in although they change no number: the
    record's lock is held for the whole run, and array tasks that differ only in `shard_id` must
    not wait for each other's sampling.
    """
    from ssd.cache import STAGE_VERSIONS

    kept = {k: v for k, v in config.items() if k not in ("paths", "logger", "name")}
    return {"config": kept, "stage_versions": STAGE_VERSIONS}


def _publish(done: Any, output_dir: Path) -> tuple[dict[str, Any], dict[str, Path]]:
    """Copy the run record's report into this job's output dir, saying whether it was reused."""
    import shutil

    from ssd.cache import atomic_write_json, read_json

    results = read_json(done.path / "results.json")
    results["run"] = {"key": done.key, "record": str(done.path), "reused": done.reused}
    paths = {"results": output_dir / "results.json", "plot": output_dir / "pass_at_1.png"}
    atomic_write_json(paths["results"], results)
    shutil.copyfile(done.path / "pass_at_1.png", paths["plot"])
    return results["summary"], paths


def _run_stages(cfg: Any, prompts: list, folder: Path, tracker: Any, config: dict) -> dict:
    from ssd.report.run import summarize, write_report
    from ssd.stages.base import resolve_base

    base = resolve_base(cfg)
    seeds = [cfg.sampling.seed + r for r in range(cfg.replicates)]
    replicates = [run_replicate(cfg, base, prompts, seed, tracker) for seed in seeds]
    summary = summarize(replicates, cfg.sampling.temperature, _selection_note(cfg))
    meta = {
        "config": config,
        "seeds": seeds,
        "problem_set": _problem_set(cfg, replicates),
        "base_model": {"path": str(base.path), "key": base.key},
        "decoding": {
            "train": {k: cfg.sampling[k] for k in ("temperature", "top_k", "top_p")},
            "eval": {
                "temperatures": eval_temperatures(cfg),
                "top_k": cfg.eval.top_k,
                "top_p": cfg.eval.top_p,
            },
        },
        "replicates": replicates,
    }
    write_report(folder, summary, meta)
    return summary


def _selection_note(cfg: Any) -> str:
    """How the reported checkpoint and T_eval were chosen, in words for the report."""
    which = f"checkpoints={cfg.eval.checkpoints}"
    if cfg.eval.selection == "validation":
        split = _split(cfg)
        return (
            f"chosen on a held-out validation split (problems {split['validation']}; {which}); "
            f"pass@1 reported on the test split (problems {split['test']})"
        )
    return f"chosen on the evaluation problems themselves (no held-out split; {which})"


def _track(tracker: Any, summary: dict[str, Any], paths: dict[str, Path]) -> None:
    flat = {f"eval/{label}/best_pass@1": b["pass@1"] for label, b in summary["best"].items()}
    flat.update({f"eval/{label}/best_t_eval": b["t_eval"] for label, b in summary["best"].items()})
    flat.update({f"eval/{label}/best_t_eff": b["t_eff"] for label, b in summary["best"].items()})
    for label, diag in summary["diagnostics"].items():
        flat.update({f"analyze/{label}/{k}": v for k, v in diag.items()})
    tracker.summary(flat)
    columns = ["decoder", "t_eval", "t_eff", "pass@1", "pass@1_min", "pass@1_max"]
    rows = [
        [label, r["t_eval"], r["t_eff"], r["pass@1"], r["pass@1_min"], r["pass@1_max"]]
        for label, curve in summary["curves"].items()
        for r in curve
    ]
    tracker.table("eval/pass_at_1", columns, rows)
    tracker.image("eval/pass_at_1_plot", paths["plot"])


def stage_keys(cfg: Any) -> dict[str, str]:
    """Every stage key of the first replicate's first round, derived from the config alone.

    Keys hash config slices and upstream keys, never outputs, so the whole chain is known before
    anything runs (tests pin it for every preset: tests/golden/stage_keys.json).
    """
    from dataclasses import asdict

    from ssd.cache import stable_hash, stage_key
    from ssd.stages.analyze import analysis_settings, analyze_enabled
    from ssd.stages.evaluate import evaluate_spec
    from ssd.stages.finetune import finetune_spec
    from ssd.stages.sample import sample_spec

    seed = cfg.sampling.seed
    m = cfg.model
    if m.kind == "hf":
        path = Path(m.path).expanduser()
        base = stable_hash(
            {"hf": str(path.resolve()) if path.exists() else m.path, "dtype": m.dtype}
        )
    else:
        spec = {
            "model": OmegaConf.to_container(m, resolve=True),
            "toy": OmegaConf.to_container(cfg.toy, resolve=True),
        }
        base = stage_key("base", spec, {})
    keys = {"base": base}
    keys["sample"] = stage_key("sample", sample_spec(cfg, seed), {"model": base})
    keys["filter"] = stage_key(
        "filter", OmegaConf.to_container(cfg.filter, resolve=True), {"samples": keys["sample"]}
    )
    keys["finetune"] = stage_key(
        "finetune", finetune_spec(cfg, seed), {"model": base, "kept": keys["filter"]}
    )
    if analyze_enabled(cfg):
        a = cfg.analyze
        spec = {
            "settings": asdict(analysis_settings(cfg)),
            "max_contexts": a.max_contexts,
            "max_tokens": a.max_tokens,
            "dtype": cfg.model.dtype,
        }
        inputs = {"base": base, "ssd": keys["finetune"], "contexts": keys["filter"]}
        keys["analyze"] = stage_key("analyze", spec, inputs)
    plain, ssd_as_decoder = _decoders(cfg)
    grid, temperatures = [float(t) for t in cfg.eval.temperatures], eval_temperatures(cfg)
    for label, decoder, temps, model in (
        ("base", plain, grid, base),
        ("ssd_as_decoder", ssd_as_decoder, temperatures, base),
        ("ssd", plain, temperatures, keys["finetune"]),
    ):
        spec = evaluate_spec(cfg, decoder, temps, seed)
        keys[f"evaluate/{label}"] = stage_key("evaluate", spec, {"model": model})
    config = OmegaConf.to_container(cfg, resolve=True)
    keys["run"] = stage_key("run", run_spec(config), {})
    return keys
