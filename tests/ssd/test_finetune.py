"""The SFT module: an exact label mask, a loss that falls, a schedule that follows the recipe."""

from __future__ import annotations

import pytest
import torch
from omegaconf import OmegaConf

from ssd.config import FinetuneConfig
from ssd.finetune import IGNORE, collate, completion_loss, make_example, train_sft, warmup_cosine
from ssd.models import load_model


def test_label_mask_is_exact_on_a_hand_built_example():
    example, truncated = make_example([5, 6, 7], [8, 9, 1], max_seq_len=10)
    assert example.input_ids == [5, 6, 7, 8, 9, 1]
    assert example.labels == [IGNORE, IGNORE, IGNORE, 8, 9, 1] and not truncated
    short, truncated = make_example([5, 6, 7], [8, 9, 1], max_seq_len=4)
    assert short.input_ids == [5, 6, 7, 8] and short.labels == [IGNORE] * 3 + [8] and truncated
    batch = collate([example, short], pad_id=0)
    assert batch["labels"][1].tolist() == [IGNORE] * 3 + [8, IGNORE, IGNORE]
    assert batch["attention_mask"].tolist() == [[1] * 6, [1] * 4 + [0, 0]]


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


def test_sft_lowers_the_loss_on_its_samples(tiny_model_dir):
    model, tokenizer = load_model(tiny_model_dir)
    encode = lambda text: tokenizer(text, add_special_tokens=False)["input_ids"]  # noqa: E731
    examples = [
        make_example(encode(f"P{i % 4}"), encode(f"t{i % 4} t{(i + 1) % 7} <eos>"), 64)[0]
        for i in range(64)
    ]
    batch = collate(examples, tokenizer.pad_token_id)

    def loss_now():
        with torch.no_grad():
            logits = model(
                input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]
            ).logits
        return completion_loss(logits, batch["labels"], "token_mean")[0].item()

    before = loss_now()
    opt = OmegaConf.merge(
        OmegaConf.structured(FinetuneConfig),
        {"max_steps": 30, "batch_size": 16, "global_batch_size": 16, "accelerator": "cpu"},
    )
    metrics = train_sft(model, examples, opt, seed=0, pad_id=tokenizer.pad_token_id)
    after = loss_now()
    assert metrics["steps"] == 30 and after < 0.5 * before, (before, after)
