"""Prompt pools SSD samples from: the embedded toy, local JSONL files and rStar-Coder's seed set.

`load_prompts(data, toy)` returns plain `Prompt` rows; a file that does not parse raises `ConfigError`
naming the file and line, so the run stops before any compute. `rstar_prompts` is the pure step
from seed_sft records (question_id, question, starter_code, response, code, verified, is_passed;
several rows per problem) to prompts, so it is tested on a local file of the same schema.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ssd.codeeval.benchmarks.tinycode import pool_texts
from ssd.config.schema import ConfigError, DataConfig, ToyTaskConfig
from ssd.generation.prompts import Prompt


def load_jsonl_prompts(path: str | None) -> list[Prompt]:
    """Rows with `question` (required), optional `starter_code` and `id` (default: the line number)."""
    if not path:
        raise ConfigError("data.path=None is invalid: data=jsonl needs data.path=FILE.jsonl")
    file = Path(path).expanduser()
    if not file.is_file():
        raise ConfigError(f"data.path={path!r} is invalid: no such file")
    prompts, seen = [], set()
    for line_no, row in _jsonl_records(file):
        if not isinstance(row, dict) or not isinstance(row.get("question"), str):
            raise ConfigError(f"{file}:{line_no}: needs a string field 'question'")
        prompt_id = str(row.get("id", line_no))
        if prompt_id in seen:
            raise ConfigError(f"{file}:{line_no}: duplicate id {prompt_id!r}")
        seen.add(prompt_id)
        prompts.append(Prompt(prompt_id, row["question"], str(row.get("starter_code") or "")))
    if not prompts:
        raise ConfigError(f"{file}: no prompts in the file")
    return prompts


def toy_prompts(n_instances: int, copies_per_instance: int) -> list[Prompt]:
    """The toy pool: each instance named `copies_per_instance` times, as distinct prompt rows."""
    return [
        Prompt(f"toy-{i}-{c}", f"P{i}", instance=i)
        for c in range(copies_per_instance)
        for i in range(n_instances)
    ]


def normalize_question(text: str) -> str:
    """The de-dup key: whitespace runs collapsed to one space, ends stripped (paper §2)."""
    return " ".join(text.split())


def rstar_prompts(
    records: Iterable[tuple[int, dict[str, Any]]], dedup: bool, where: str
) -> list[Prompt]:
    """Prompts from rStar-Coder seed_sft records, in record order.

    Args:
        records: (position, record) pairs; position names the row in errors (a file's line
            number, or the dataset's row index).
        dedup: keep only the first record of each whitespace-normalised question (the paper,
            ~10,168 problems) instead of every record (the official code, ~592k rows).
        where: the source, for error messages ("file.jsonl" or "hub-id[config]").

    Returns:
        One Prompt per kept record. Its id is the record's question_id when de-duplicating
        (`question_id/position` if two distinct questions share one), else `question_id/position`,
        since seed_sft repeats each problem once per reference solution.

    Raises:
        ConfigError: a record without a non-empty string `question`, naming where and position.
    """
    prompts, seen_questions, seen_ids = [], set(), set()
    for position, record in records:
        question = record.get("question") if isinstance(record, dict) else None
        if not isinstance(question, str) or not question.strip():
            raise ConfigError(f"{where}:{position}: needs a non-empty string field 'question'")
        if dedup:
            key = normalize_question(question)
            if key in seen_questions:
                continue
            seen_questions.add(key)
        question_id = str(record.get("question_id") or f"row{position}")
        prompt_id = question_id if dedup else f"{question_id}/{position}"
        if prompt_id in seen_ids:
            prompt_id = f"{question_id}/{position}"
        seen_ids.add(prompt_id)
        prompts.append(Prompt(prompt_id, question, str(record.get("starter_code") or "")))
    if not prompts:
        raise ConfigError(f"{where}: no prompts")
    return prompts


def _jsonl_records(file: Path) -> Iterable[tuple[int, dict[str, Any]]]:
    with file.open(encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                yield line_no, json.loads(line)
            except json.JSONDecodeError as err:
                raise ConfigError(f"{file}:{line_no}: not valid JSON ({err.msg})") from None


def _hub_records(
    hf_dataset: str, hf_config: str, split: str
) -> Iterable[tuple[int, dict[str, Any]]]:
    # Only the columns a prompt needs: seed_sft's `response` column is most of its ~12 GB.
    from datasets import load_dataset  # lazy: seconds to import, needed only for the hub

    columns = ["question_id", "question", "starter_code"]
    dataset = load_dataset(hf_dataset, hf_config, split=split, columns=columns)
    position = 0
    for batch in dataset.iter(batch_size=10_000):
        for values in zip(*(batch[c] for c in columns), strict=True):
            yield position, dict(zip(columns, values, strict=True))
            position += 1


def load_rstar_prompts(d: DataConfig) -> list[Prompt]:
    """rStar-Coder seed prompts: `data.path` (a local JSONL in the seed_sft schema) when set, else
    `datasets.load_dataset(data.hf_dataset, data.hf_config, split=data.split)` (a hub id or a local
    snapshot directory)."""
    if d.path:
        file = Path(d.path).expanduser()
        if not file.is_file():
            raise ConfigError(f"data.path={d.path!r} is invalid: no such file")
        return rstar_prompts(_jsonl_records(file), d.dedup, str(file))
    where = f"{d.hf_dataset}[{d.hf_config}]"
    return rstar_prompts(_hub_records(d.hf_dataset, d.hf_config, d.split), d.dedup, where)


def pool_settings(d: DataConfig, toy: ToyTaskConfig) -> ToyTaskConfig | None:
    """The config beyond `data` that defines the pool's prompts (the toy language's), else None:
    part of the sample stage's key."""
    return toy if d.kind == "toy" else None


def load_prompts(d: DataConfig, toy: ToyTaskConfig) -> list[Prompt]:
    """The prompt pool named by the `data` slice (the toy's comes from the toy language)."""
    if d.kind == "toy":
        prompts = toy_prompts(toy.n_instances, d.copies_per_instance)
    elif d.kind == "rstar":
        prompts = load_rstar_prompts(d)
    elif d.kind == "tinycode":
        prompts = [Prompt(pid, text) for pid, text in pool_texts()]
    else:
        prompts = load_jsonl_prompts(d.path)
    return prompts[: d.limit] if d.limit else prompts
