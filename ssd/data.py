"""Prompt pools SSD samples from: the embedded toy and local JSONL files.

`load_prompts(cfg)` returns plain `Prompt` rows; a file that does not parse raises `ConfigError`
naming the file and line, so the run stops before any compute.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ssd.config import ConfigError


@dataclass(frozen=True)
class Prompt:
    id: str
    question: str
    starter_code: str = ""
    instance: int | None = None  # toy: which problem instance the prompt names

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def load_jsonl_prompts(path: str | None) -> list[Prompt]:
    """Rows with `question` (required), optional `starter_code` and `id` (default: the line number)."""
    if not path:
        raise ConfigError("data.path=None is invalid: data=jsonl needs data.path=FILE.jsonl")
    file = Path(path).expanduser()
    if not file.is_file():
        raise ConfigError(f"data.path={path!r} is invalid: no such file")
    prompts, seen = [], set()
    with file.open(encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as err:
                raise ConfigError(f"{file}:{line_no}: not valid JSON ({err.msg})") from None
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


def load_prompts(cfg: Any) -> list[Prompt]:
    """The prompt pool named by `cfg.data` (with `cfg.toy` for the toy)."""
    d = cfg.data
    if d.kind == "toy":
        prompts = toy_prompts(cfg.toy.n_instances, d.copies_per_instance)
    else:
        prompts = load_jsonl_prompts(d.path)
    return prompts[: d.limit] if d.limit else prompts
