"""SFT data: completion-only examples, a deterministic step plan, and the Lightning DataModule.

The whole run's batch order is planned up front from (lengths, seed, batch shape): every optimizer
step is `accumulate` micro-batches on each of `world_size` ranks. Knowing a step's micro-batches in
advance gives two things a shuffled DataLoader cannot: the step's total completion-token count (so
`token_mean` is the mean over the global batch however it is split over devices and accumulation)
and exact resumption (a run restarted at step s skips the first s*accumulate micro-batches).
Length-grouped batching sorts each megabatch by length and shuffles the resulting buckets with the
seed, which keeps padding small without packing (packing would need per-sequence attention masks).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

IGNORE = -100


@dataclass(frozen=True)
class SFTExample:
    input_ids: list[int]
    labels: list[int]  # IGNORE where no loss is taken (the prompt)

    @property
    def n_label_tokens(self) -> int:
        """Positions that carry loss after the next-token shift (label 0 predicts nothing)."""
        return sum(1 for label in self.labels[1:] if label != IGNORE)


def make_example(
    prompt_ids: Sequence[int], completion_ids: Sequence[int], max_seq_len: int
) -> tuple[SFTExample, bool]:
    """Prompt + completion, labels masked on the prompt; returns (example, was_truncated)."""
    input_ids = list(prompt_ids) + list(completion_ids)
    labels = [IGNORE] * len(prompt_ids) + list(completion_ids)
    truncated = len(input_ids) > max_seq_len
    return SFTExample(input_ids[:max_seq_len], labels[:max_seq_len]), truncated


def collate(examples: Sequence[SFTExample], pad_id: int) -> dict[str, torch.Tensor]:
    """Right-pad a batch; padding gets attention 0 and label IGNORE."""
    width = max(len(e.input_ids) for e in examples)
    ids = torch.full((len(examples), width), pad_id, dtype=torch.long)
    labels = torch.full((len(examples), width), IGNORE, dtype=torch.long)
    mask = torch.zeros((len(examples), width), dtype=torch.long)
    for row, e in enumerate(examples):
        ids[row, : len(e.input_ids)] = torch.tensor(e.input_ids)
        labels[row, : len(e.labels)] = torch.tensor(e.labels)
        mask[row, : len(e.input_ids)] = 1
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}


@dataclass(frozen=True)
class BatchShape:
    """How one optimizer step is cut: per-device batch x accumulation x ranks."""

    batch_size: int
    accumulate: int
    world_size: int
    length_grouped: bool = True
    group_batches: int = 64  # batches per length-sorted megabatch; 0 = sort the whole pass

    @property
    def micro_per_step(self) -> int:
        return self.accumulate * self.world_size


def _pass_batches(lengths: np.ndarray, shape: BatchShape, rng: np.random.Generator) -> list:
    """One pass over the data as batches; rank buckets of similar length stay adjacent."""
    n, bs, group = len(lengths), min(shape.batch_size, len(lengths)), shape.world_size
    order = rng.permutation(n)
    if shape.length_grouped:
        chunk = n if shape.group_batches <= 0 else bs * group * shape.group_batches
        for start in range(0, n, chunk):  # permutation first, so ties are broken at random
            part = order[start : start + chunk]
            order[start : start + chunk] = part[np.argsort(-lengths[part], kind="stable")]
    batches = [order[i : i + bs].tolist() for i in range(0, n - n % bs, bs)]
    buckets = [batches[i : i + group] for i in range(0, len(batches) - len(batches) % group, group)]
    if shape.length_grouped:
        buckets = [buckets[i] for i in rng.permutation(len(buckets))]
    return [batch for bucket in buckets for batch in bucket]


def steps_per_epoch(n_examples: int, shape: BatchShape) -> int:
    per_pass = (n_examples // min(shape.batch_size, n_examples)) // shape.world_size
    return max(1, per_pass // shape.accumulate)


def plan_steps(lengths: Sequence[int], shape: BatchShape, n_steps: int, seed: int) -> list:
    """`n_steps` optimizer steps; step[s][r] = rank r's `accumulate` micro-batches (index lists).

    Passes over the data follow each other with seeds seed, seed+1, ...; the plan is a pure
    function of its arguments, which is what makes a resumed run see the same data order.
    """
    lengths_arr = np.asarray(lengths)
    stream: list[list[int]] = []
    needed = n_steps * shape.micro_per_step
    epoch = 0
    while len(stream) < needed:
        batches = _pass_batches(lengths_arr, shape, np.random.default_rng([seed, epoch]))
        if not batches:
            raise ValueError(f"{len(lengths)} examples cannot fill one step of {shape}")
        stream.extend(batches)
        epoch += 1
    per = shape.micro_per_step
    return [
        [
            [stream[s * per + m * shape.world_size + r] for m in range(shape.accumulate)]
            for r in range(shape.world_size)
        ]
        for s in range(n_steps)
    ]


def step_stats(step: list, examples: Sequence[SFTExample]) -> dict[str, int]:
    """Label, non-padding and computed (batch x padded width) token counts of one global step."""
    micro = [batch for rank in step for batch in rank]
    lens = [[len(examples[i].input_ids) for i in batch] for batch in micro]
    return {
        "label_tokens": sum(examples[i].n_label_tokens for batch in micro for i in batch),
        "nonpad_tokens": sum(sum(row) for row in lens),
        "computed_tokens": sum(len(row) * max(row) for row in lens),
    }


def padding_fraction(plan: list, examples: Sequence[SFTExample]) -> float:
    """Share of computed token positions that are padding, over a whole plan."""
    stats = [step_stats(step, examples) for step in plan]
    computed = sum(s["computed_tokens"] for s in stats)
    return 1.0 - sum(s["nonpad_tokens"] for s in stats) / max(computed, 1)


class PlannedMicroBatches(Dataset):
    """Rank `rank`'s micro-batches of a plan, collated, each with its step's token totals."""

    def __init__(self, examples: Sequence[SFTExample], plan: list, rank: int, pad_id: int):
        self.examples, self.pad_id = examples, pad_id
        self.items = [
            (batch, stats)
            for step in plan
            for stats in [step_stats(step, examples)]
            for batch in step[rank]
        ]

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        batch, stats = self.items[index]
        out = collate([self.examples[i] for i in batch], self.pad_id)
        out.update({f"step_{k}": torch.tensor(v) for k, v in stats.items()})
        return out


class SkipDone(Sampler[int]):
    """Indices `start`..`total`-1, but a length of `total`.

    A resumed Lightning run restores its count of batches already seen and ends the epoch when
    that count reaches len(dataloader); so the loader keeps the full length and only skips.
    """

    def __init__(self, start: int, total: int):
        self.start, self.total = start, total

    def __iter__(self):
        return iter(range(self.start, self.total))

    def __len__(self) -> int:
        return self.total


class ResumableLoader(DataLoader):
    """Stateful in Lightning's sense: on resume it already starts at the restored step (SkipDone),
    so there is nothing more to save or load; saying so silences the "not resumable" warning."""

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        pass


class SFTDataModule(L.LightningDataModule):
    """Serves the planned micro-batches of this rank, skipping those already trained on."""

    def __init__(
        self,
        examples: Sequence[SFTExample],
        shape: BatchShape,
        n_steps: int,
        seed: int,
        pad_id: int,
        num_workers: int = 0,
    ):
        super().__init__()
        self.examples, self.shape, self.n_steps = examples, shape, n_steps
        self.seed, self.pad_id, self.num_workers = seed, pad_id, num_workers
        self.plan = plan_steps([len(e.input_ids) for e in examples], shape, n_steps, seed)

    def train_dataloader(self) -> DataLoader:
        trainer: Any = self.trainer
        done = trainer.global_step if trainer is not None else 0  # restored on resume
        rank = trainer.global_rank if trainer is not None else 0
        data = PlannedMicroBatches(self.examples, self.plan, rank, self.pad_id)
        skip = SkipDone(done * self.shape.accumulate, len(data))
        return ResumableLoader(
            data,
            batch_size=None,
            sampler=skip,
            num_workers=self.num_workers,
            # its own generator: creating an iterator must not draw from the global RNG, which
            # a resumed run restores (LoRA dropout masks) before it builds the loader
            generator=torch.Generator().manual_seed(self.seed),
        )

    def state_dict(self) -> dict[str, Any]:
        """Recorded in the Lightning checkpoint so a resume can check it plans the same order."""
        return {"seed": self.seed, "n_steps": self.n_steps, "shape": vars(self.shape).copy()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        mine = self.state_dict()
        if state != mine:
            raise RuntimeError(f"resume: checkpoint's data plan {state} differs from {mine}")


def total_steps(n_examples: int, shape: BatchShape, max_steps: int | None, epochs) -> int:
    """`max_steps` when set, else `epochs` passes over the data (at least one step)."""
    if max_steps is not None:
        return int(max_steps)
    return max(1, math.floor(float(epochs) * steps_per_epoch(n_examples, shape)))
