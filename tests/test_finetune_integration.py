"""Fine-tuning for real, on a tiny model: resume, HF exports, LoRA, 2-process DDP, 2 SSD rounds."""

from __future__ import annotations

import json
from pathlib import Path

import lightning as L
import pytest
import torch
from omegaconf import OmegaConf
from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

from ssd.artifacts import ModelRef, write_jsonl
from ssd.cache import Cache, StageOutput
from ssd.config.schema import FinetuneConfig
from ssd.models import load_model
from ssd.pipeline import typed
from ssd.sft.checkpoints import RESUME
from ssd.sft.loop import train_sft
from ssd.stages.finetune import finetune

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("one_thread")]


def rows(tokenizer, n: int = 48) -> list[dict]:
    """Kept-sample rows like the filter stage writes: prompts P0..P3, completions of 2..7 tokens."""
    encode = lambda text: tokenizer(text, add_special_tokens=False)["input_ids"]  # noqa: E731
    return [
        {
            "prompt_ids": encode(f"P{i % 4}"),
            "completion_ids": encode(" ".join(f"t{(i + j) % 9}" for j in range(1 + i % 6)))
            + [tokenizer.eos_token_id],
        }
        for i in range(n)
    ]


def examples_of(tokenizer):
    from ssd.sft.data import make_example

    return [make_example(r["prompt_ids"], r["completion_ids"], 64)[0] for r in rows(tokenizer)]


def opt_for(**over):
    base = {
        "max_steps": 8,
        "batch_size": 4,
        "global_batch_size": 8,
        "save_every": 3,
        "warmup_steps": 2,
        "accelerator": "cpu",
        "precision": "32-true",
    }
    return OmegaConf.merge(OmegaConf.structured(FinetuneConfig), {**base, **over})


class Interrupt(L.Callback):
    """Stands in for a kill: raises once the run has finished optimizer step `step`."""

    def __init__(self, step: int):
        self.step = step

    def on_train_batch_end(self, trainer, *args):
        if trainer.global_step == self.step:
            raise RuntimeError(f"killed after step {self.step}")


def train_into(model_dir: Path, out: Path, opt, callbacks=()) -> dict:
    model, tokenizer = load_model(model_dir)
    export = {
        "config": AutoConfig.from_pretrained(model_dir),
        "tokenizer": AutoTokenizer.from_pretrained(model_dir),
    }
    return train_sft(
        model,
        examples_of(tokenizer),
        opt,
        seed=0,
        pad_id=tokenizer.pad_token_id,
        out=out,
        export=export,
        callbacks=list(callbacks),
    )


def weights(path: Path) -> dict[str, torch.Tensor]:
    return AutoModelForCausalLM.from_pretrained(path).state_dict()


def assert_same(a: dict, b: dict, atol: float = 0.0) -> None:
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], atol=atol, rtol=0 if atol == 0 else 1e-5)


@pytest.mark.parametrize("lora", [False, True], ids=["full", "lora"])
def test_resume_after_a_kill_ends_with_the_weights_of_an_uninterrupted_run(
    tiny_model_dir, tmp_path, lora
):
    """Kill after step 5 (last resume checkpoint: step 3); the rerun redoes 4..8 in the same data
    order, optimizer and scheduler state (and LoRA dropout masks) and matches exactly."""
    opt = opt_for(lora={"enabled": lora, "r": 4, "alpha": 8, "dropout": 0.1})
    whole = train_into(tiny_model_dir, tmp_path / "whole", opt)
    with pytest.raises(RuntimeError, match="killed after step 5"):
        train_into(tiny_model_dir, tmp_path / "killed", opt, [Interrupt(5)])
    assert (tmp_path / "killed" / RESUME).is_file()
    resumed = train_into(tiny_model_dir, tmp_path / "killed", opt)
    assert resumed["resumed"] and not whole["resumed"] and resumed["steps"] == 8
    assert not (tmp_path / "killed" / RESUME).exists()  # nothing needs it once model/ is written
    for run in ("whole", "killed"):
        assert sorted(p.name for p in (tmp_path / run / "checkpoints").iterdir()) == [
            "step-000003",
            "step-000006",
        ]
    assert_same(weights(tmp_path / "whole" / "model"), weights(tmp_path / "killed" / "model"))
    assert_same(
        weights(tmp_path / "whole" / "checkpoints/step-000006"),
        weights(tmp_path / "killed" / "checkpoints/step-000006"),
    )


def test_hf_checkpoints_reload_with_tokenizer_and_generation_config(tiny_model_dir, tmp_path):
    train_into(tiny_model_dir, tmp_path, opt_for(max_steps=4, save_every=2))
    for folder in ("checkpoints/step-000002", "model"):
        path = tmp_path / folder
        assert {"config.json", "generation_config.json", "model.safetensors"} <= {
            p.name for p in path.iterdir()
        }
        model = AutoModelForCausalLM.from_pretrained(path)
        tokenizer = AutoTokenizer.from_pretrained(path)
        assert tokenizer.eos_token == "<eos>" and model.generation_config.do_sample is False
        out = model.generate(
            torch.tensor([[tokenizer.convert_tokens_to_ids("P0")]]), max_new_tokens=3
        )
        assert out.shape == (1, 4)
    base = weights(tiny_model_dir)
    tuned = weights(tmp_path / "model")
    assert any(not torch.equal(base[k], tuned[k]) for k in base)


def test_lora_export_is_merged_plain_weights_that_differ_from_the_base(tiny_model_dir, tmp_path):
    """The export has the base's keys only, differs from the base in the adapted projections
    only, and equals merging the trained adapters layer by layer with peft."""
    from peft.tuners.lora import LoraLayer

    opt = opt_for(max_steps=4, save_every=0, lr=1e-2, lora={"enabled": True, "r": 4, "alpha": 8})
    model, tokenizer = load_model(tiny_model_dir)
    export = {
        "config": AutoConfig.from_pretrained(tiny_model_dir),
        "tokenizer": AutoTokenizer.from_pretrained(tiny_model_dir),
    }
    examples = examples_of(tokenizer)
    train_sft(model, examples, opt, 0, tokenizer.pad_token_id, out=tmp_path, export=export)
    exported = weights(tmp_path / "model")
    base = weights(tiny_model_dir)
    assert exported.keys() == base.keys() and not any("lora" in k for k in exported)
    changed = {k for k in base if not torch.equal(base[k], exported[k])}
    assert changed and all(any(t in k for t in opt.lora.target_modules) for k in changed)
    for module in model.modules():  # peft injected the adapters into `model` in place
        if isinstance(module, LoraLayer):
            module.merge()
    merged = {
        k.replace(".base_layer", ""): v for k, v in model.state_dict().items() if "lora_" not in k
    }
    assert_same({k: merged[k] for k in exported}, exported, atol=1e-6)


def kept_stage(tokenizer, root: Path) -> StageOutput:
    """A stand-in for a finished filter stage holding kept.jsonl."""
    root.mkdir(parents=True)
    write_jsonl(root / "kept.jsonl", rows(tokenizer))
    return StageOutput("filter", "kept-for-tests", root, {}, reused=True)


def test_two_process_ddp_on_cpu_matches_one_process_with_accumulation(
    tiny_model_dir, tmp_path, make_cfg, monkeypatch
):
    """devices=2 strategy=ddp runs `python -m ssd.sft.worker JOB` on 2 gloo ranks; per-rank batch 2
    x 2 ranks sees the same global batches as batch 2 x accumulation 2, so the weights agree."""
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # two ranks on two cores: one thread each
    _, tokenizer = load_model(tiny_model_dir)
    kept = kept_stage(tokenizer, tmp_path / "kept")
    common = [
        "finetune.max_steps=4",
        "finetune.batch_size=2",
        "finetune.global_batch_size=4",
        "finetune.batching=random",  # world-size independent order: the two runs see one stream
        "finetune.save_every=2",
        "finetune.accelerator=cpu",
    ]
    outs = {}
    for devices in (1, 2):
        cfg = make_cfg(*common, f"finetune.devices={devices}", "finetune.strategy=ddp")
        cfg.paths.cache_dir = str(tmp_path / f"cache{devices}")
        config = typed(cfg)
        cache = Cache.at(config.paths.cache_dir)
        outs[devices] = finetune(
            ModelRef(tiny_model_dir, "tiny"), kept, 0, config.finetune, False, cache
        )
    ddp = outs[2].metrics
    assert ddp["world_size"] == 2 and ddp["accumulate"] == 1 and ddp["steps"] == 4
    assert outs[1].metrics["accumulate"] == 2
    assert ddp["checkpoints"] == {"2": "checkpoints/step-000002", "4": "model"}
    assert (outs[2].path / "logs" / "metrics.csv").is_file()  # rank 0's CSV log of the worker
    assert_same(weights(outs[1].path / "model"), weights(outs[2].path / "model"), atol=1e-5)


def test_two_rounds_on_the_toy_with_checkpoints_chosen_on_a_validation_split(
    make_cfg, tmp_path, capsys
):
    """rounds=2: round 2 samples from round 1's model and has its own stages; every checkpoint is
    evaluated, the step and T_eval are chosen on validation problems, pass@1 is on the others."""
    from ssd.pipeline import run

    cfg = make_cfg(
        "experiment=smoke",
        "rounds=2",
        "replicates=1",
        "model.base_fit.max_steps=30",  # a rougher base is enough here, and 4x cheaper
        "model.base_fit.n_sequences=512",
        "finetune.save_every=10",
        "eval.checkpoints=all",
        "eval.selection=validation",
        "logger=csv",
        cache=tmp_path / "cache",
    )
    summary = run(cfg, tmp_path / "run")
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    split = results["problem_set"]["split"]
    assert sorted(split["validation"] + split["test"]) == [0, 1, 2, 3]
    assert split["validation"] and split["test"]
    rep = results["replicates"][0]
    stages = rep["stages"]
    assert stages["round2/sample"]["key"] != stages["sample"]["key"]
    manifest = json.loads(
        (
            Path(cfg.paths.cache_dir) / "sample" / stages["round2/sample"]["key"] / "manifest.json"
        ).read_text()
    )
    assert manifest["inputs"]["model"] == stages["finetune"]["key"]  # round 1's model
    for label in ("ssd", "ssd_round2"):
        result = rep[label]
        assert [c["step"] for c in result["checkpoints"]] == [10, 20]
        chosen = max(result["checkpoints"], key=lambda c: c["pass@1_select"])
        assert result["checkpoint_step"] == chosen["step"]
        for row in result["rows"]:  # reported on test problems, selected on validation ones
            per_problem = row["pass@1_per_problem"]
            test = sum(per_problem[i] for i in split["test"]) / len(split["test"])
            val = sum(per_problem[i] for i in split["validation"]) / len(split["validation"])
            assert row["pass@1"] == pytest.approx(test) and row["pass@1_select"] == pytest.approx(
                val
            )
    assert stages["finetune"]["checkpoints"] == {"10": "checkpoints/step-000010", "20": "model"}
    assert summary["labels"] == ["base", "ssd_as_decoder", "ssd", "ssd_round2"]
    assert [r["round"] for r in summary["rounds"]] == [1, 2]
    assert "validation split" in summary["best_t_selection"]
    table = capsys.readouterr().out
    assert "SSD round 2" in table and "held-out validation split" in table
