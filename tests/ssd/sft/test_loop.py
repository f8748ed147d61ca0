"""The SFT pieces: an exact label mask, a loss that falls, the recipe's schedule, a data plan that is
deterministic, covers every example and keeps padding low, and a loss whose gradient does not
depend on how the global batch is cut into micro-batches."""

from __future__ import annotations

import importlib.util
from collections import Counter

import pytest
import torch
from helpers.support import REPO
from omegaconf import OmegaConf

from ssd.config.schema import ConfigError, FinetuneConfig
from ssd.models import load_model
from ssd.sft.data import (
    IGNORE,
    BatchShape,
    collate,
    make_example,
    padding_fraction,
    plan_steps,
    steps_per_epoch,
    total_steps,
)
from ssd.sft.loop import train_sft
from ssd.sft.module import completion_loss, warmup_cosine
from ssd.validation import validate

pytestmark = pytest.mark.usefixtures("one_thread")


def opt_for(**over):
    base = {"accelerator": "cpu", "precision": "32-true", "save_every": 0}
    return OmegaConf.merge(OmegaConf.structured(FinetuneConfig), {**base, **over})


def toy_examples(tokenizer, n: int = 64):
    """Prompts P0..P3, completions of 2..7 tokens (so batches need padding)."""
    encode = lambda text: tokenizer(text, add_special_tokens=False)["input_ids"]  # noqa: E731
    return [
        make_example(
            encode(f"P{i % 4}"),
            encode(" ".join(f"t{(i + j) % 7}" for j in range(1 + i % 6)) + " <eos>"),
            64,
        )[0]
        for i in range(n)
    ]


def test_label_mask_is_exact_on_a_hand_built_example():
    example, truncated = make_example([5, 6, 7], [8, 9, 1], max_seq_len=10)
    assert example.input_ids == [5, 6, 7, 8, 9, 1]
    assert example.labels == [IGNORE, IGNORE, IGNORE, 8, 9, 1] and not truncated
    short, truncated = make_example([5, 6, 7], [8, 9, 1], max_seq_len=4)
    assert short.input_ids == [5, 6, 7, 8] and short.labels == [IGNORE] * 3 + [8] and truncated
    batch = collate([example, short], pad_id=0)
    assert batch["labels"][1].tolist() == [IGNORE] * 3 + [8, IGNORE, IGNORE]
    assert batch["attention_mask"].tolist() == [[1] * 6, [1] * 4 + [0, 0]]
    assert example.n_label_tokens == 3 and short.n_label_tokens == 1


def test_loss_covers_completion_tokens_only():
    logits = torch.zeros(1, 4, 5)
    logits[0, 2, 3] = 50.0  # position 2 predicts token 3 perfectly
    labels = torch.tensor([[IGNORE, IGNORE, IGNORE, 3]])
    loss, n = completion_loss(logits, labels, "token_mean")
    assert n == 1 and loss.item() == pytest.approx(0.0, abs=1e-6)
    labels = torch.tensor([[IGNORE, 1, IGNORE, 3]])
    total, n = completion_loss(logits, labels, "sum")
    assert n == 2 and total.item() == pytest.approx(torch.log(torch.tensor(5.0)).item(), rel=1e-5)


def test_warmup_then_cosine_to_min_lr():
    lrs = [warmup_cosine(s, 10, 110, 5e-6, 1e-6) for s in range(111)]
    assert lrs[0] == pytest.approx(5e-7) and lrs[9] == pytest.approx(5e-6)
    assert lrs[60] == pytest.approx(3e-6) and lrs[110] == pytest.approx(1e-6)
    assert all(a >= b for a, b in zip(lrs[10:], lrs[11:], strict=False))


@pytest.mark.parametrize("grouped", [True, False])
def test_plan_is_seeded_and_each_pass_uses_every_example_once(grouped):
    lengths = [3 + (i * 7) % 50 for i in range(96)]
    shape = BatchShape(batch_size=4, accumulate=3, world_size=2, length_grouped=grouped)
    assert steps_per_epoch(96, shape) == 4
    plan = plan_steps(lengths, shape, n_steps=8, seed=5)  # two passes
    assert plan == plan_steps(lengths, shape, n_steps=8, seed=5)
    assert plan != plan_steps(lengths, shape, n_steps=8, seed=6)
    for half in (plan[:4], plan[4:]):
        seen = Counter(i for step in half for rank in step for batch in rank for i in batch)
        assert sorted(seen) == list(range(96)) and set(seen.values()) == {1}
    step = plan[0]
    assert len(step) == 2 and all(len(rank) == 3 and len(rank[0]) == 4 for rank in step)
    assert total_steps(96, shape, None, 2.0) == 8 and total_steps(96, shape, 7, None) == 7


def _bench():
    spec = importlib.util.spec_from_file_location("bench_sft", REPO / "benchmarks/bench_sft.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_length_grouping_keeps_padding_under_ten_percent_on_the_bench_data():
    bench = _bench()
    examples = bench.bench_examples(bench.DEFAULTS)
    lengths = [len(e.input_ids) for e in examples]
    shape = BatchShape(batch_size=8, accumulate=4, world_size=1)
    n_steps = steps_per_epoch(len(examples), shape)
    grouped = padding_fraction(plan_steps(lengths, shape, n_steps, 0), examples)
    plain = BatchShape(batch_size=8, accumulate=4, world_size=1, length_grouped=False)
    shuffled = padding_fraction(plan_steps(lengths, plain, n_steps, 0), examples)
    assert grouped <= 0.10 < shuffled, (grouped, shuffled)


def test_token_mean_gradient_does_not_depend_on_the_micro_batch_split(tiny_model_dir):
    """bs 8 in one micro-batch == bs 4 x accumulation 2 == bs 2 x 4 (== bs 8 with activations
    recomputed by gradient checkpointing): the same weights after 3 steps."""
    weights = []
    for batch_size, recompute in ((8, False), (4, False), (2, False), (8, True)):
        model, tokenizer = load_model(tiny_model_dir)
        examples = toy_examples(tokenizer, 48)
        opt = opt_for(
            max_steps=3,
            batch_size=batch_size,
            global_batch_size=8,
            batching="random",
            gradient_checkpointing=recompute,
        )
        train_sft(model, examples, opt, seed=0, pad_id=tokenizer.pad_token_id)
        weights.append(model.state_dict())
    for other in weights[1:]:
        for key, value in weights[0].items():
            torch.testing.assert_close(other[key], value, atol=2e-6, rtol=1e-5)


def test_sft_lowers_the_loss_on_its_samples(tiny_model_dir):
    model, tokenizer = load_model(tiny_model_dir)
    examples = toy_examples(tokenizer)
    batch = collate(examples, tokenizer.pad_token_id)

    def loss_now():
        with torch.no_grad():
            logits = model(
                input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]
            ).logits
        return completion_loss(logits, batch["labels"], "token_mean")[0].item()

    before = loss_now()
    opt = opt_for(max_steps=30, batch_size=16, global_batch_size=16)
    metrics = train_sft(model, examples, opt, seed=0, pad_id=tokenizer.pad_token_id)
    after = loss_now()
    assert metrics["steps"] == 30 and after < 0.5 * before, (before, after)
    assert metrics["final_loss"] > 0 and metrics["final_grad_norm"] > 0
    assert 0 <= metrics["padding_fraction"] < 0.5 and metrics["tokens_per_s_mean"] > 0


@pytest.mark.parametrize(
    ("override", "key"),
    [
        (["finetune.epochs=1"], "finetune.max_steps"),
        (["finetune.max_steps=null"], "finetune.max_steps"),
        (["finetune.precision=16-mixed"], "finetune.precision"),
        (["finetune.strategy=fsdp", "finetune.accelerator=cpu"], "finetune.strategy"),
        (["finetune.num_nodes=3"], "finetune.global_batch_size"),
        (["finetune.lora.enabled=true", "finetune.lora.r=0"], "finetune.lora.r"),
        (["eval.checkpoints=[30]"], "eval.checkpoints"),
        (["eval.checkpoints=latest"], "eval.checkpoints"),
        (["rounds=0"], "rounds"),
    ],
)
def test_finetune_and_selection_settings_are_checked_before_compute(make_cfg, override, key):
    # Bad choices (strategy, selection, ...) are refused even earlier, at compose:
    # tests/ssd/config/test_choices.py.
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        validate(make_cfg(*override))


def test_saved_steps_and_epochs_validate(make_cfg):
    validate(make_cfg("finetune.save_every=50", "eval.checkpoints=[50,100,150]"))
    validate(make_cfg("finetune.max_steps=null", "finetune.epochs=2", "eval.checkpoints=all"))
    validate(make_cfg("rounds=3", "eval.selection=validation"))


def test_cluster_shape_precision_and_slurm_requeue_wiring(monkeypatch):
    """Accumulation keeps the global batch on any shape; under SLURM Lightning must not requeue
    (submitit does); a worker we launched ourselves manages its own ranks."""
    from lightning.fabric.plugins.environments import LightningEnvironment, SLURMEnvironment

    from ssd.sft.loop import LOCAL_WORKER_ENV, _plugins, batch_shape, resolve_precision

    shape = batch_shape(opt_for(batch_size=2, global_batch_size=32, devices=4, num_nodes=2))
    assert (shape.accumulate, shape.world_size) == (2, 8)
    assert resolve_precision(opt_for(precision="auto", accelerator="cpu")) == "32-true"
    assert resolve_precision(opt_for(precision="bf16-true")) == "bf16-true"
    for key in ("SLURM_NTASKS", "SLURM_JOB_NAME", LOCAL_WORKER_ENV):
        monkeypatch.delenv(key, raising=False)
    assert _plugins() == []
    monkeypatch.setenv("SLURM_NTASKS", "1")
    monkeypatch.setenv("SLURM_JOB_NAME", "ssd-sweep")
    (slurm,) = _plugins()
    assert isinstance(slurm, SLURMEnvironment) and slurm.auto_requeue is False
    monkeypatch.setenv(LOCAL_WORKER_ENV, "1")
    assert isinstance(_plugins()[0], LightningEnvironment)
