"""Reachability preflight: every hub item a run will download is reachable, or cached, before compute.

`preflight(cfg)` (called by ssd.pipeline.run right after validation) checks the hub model
(`model.path` when not a local directory), the benchmark's hub dataset (its spec's `hub_dataset`,
e.g. the LiveCodeBench release when `eval.benchmark.path` is unset) and rStar-Coder
(`data.kind=rstar` without `data.path`). Offline (HF_HUB_OFFLINE=1)
an item must be in the local HF cache; online the hub must answer within `TIMEOUT_S`, else the
cache must hold it. Otherwise: ConfigError, one line saying how to point at a local copy.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any, NamedTuple

from ssd.artifacts import is_local_path
from ssd.codeeval.benchmarks import benchmark_of
from ssd.config.schema import ConfigError

TIMEOUT_S = 5.0  # one hub request; a hung DNS lookup is cut by the same bound
_TRUE = {"1", "true", "yes", "on"}


class HubItem(NamedTuple):
    """One thing a run downloads: the key that names it, its hub id, repo type and the local way."""

    key: str
    repo_id: str
    repo_type: str  # "model" or "dataset"
    local: str  # how to use a local copy instead
    value: str = ""  # the key's value when it is not the hub id itself (eval.benchmark.name)


def hub_items(cfg: Any) -> list[HubItem]:
    """The hub downloads this config implies (local paths and the toy imply none)."""
    items = []
    model_path = cfg.model.path
    if str(cfg.model.kind) == "hf" and model_path and not is_local_path(model_path):
        items.append(HubItem("model.path", model_path, "model", "model.path=/local/dir"))
    bench = cfg.eval.benchmark
    if dataset := benchmark_of(bench.name).hub_dataset(bench):
        local = f"eval.benchmark.path=/local/{bench.name}.jsonl"
        items.append(HubItem("eval.benchmark.name", dataset, "dataset", local, str(bench.name)))
    hf_dataset = cfg.data.hf_dataset
    if str(cfg.data.kind) == "rstar" and not cfg.data.path and not is_local_path(hf_dataset):
        items.append(HubItem("data.hf_dataset", hf_dataset, "dataset", "data.path=/local/file"))
    return items


def hub_offline(environ: Any = None) -> bool:
    """HF_HUB_OFFLINE read now (huggingface_hub reads it once, at import)."""
    environ = os.environ if environ is None else environ
    return environ.get("HF_HUB_OFFLINE", "").strip().lower() in _TRUE


def hub_cache_dir(environ: Any = None) -> Path:
    """The HF hub cache: $HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub."""
    environ = os.environ if environ is None else environ
    if environ.get("HF_HUB_CACHE"):
        return Path(environ["HF_HUB_CACHE"]).expanduser()
    home = environ.get("HF_HOME") or Path(environ.get("XDG_CACHE_HOME", "~/.cache")) / "huggingface"
    return Path(home).expanduser() / "hub"


def is_cached(item: HubItem, cache: Path) -> bool:
    """Whether the hub cache holds a snapshot of the item (a model: with its config.json)."""
    folder = cache / f"{item.repo_type}s--{item.repo_id.replace('/', '--')}"
    snapshots = [p for p in (folder / "snapshots").glob("*") if p.is_dir()]
    if item.repo_type == "model":
        return any((p / "config.json").is_file() for p in snapshots)
    return any(any(p.iterdir()) for p in snapshots)


def _ask_hub(item: HubItem, timeout: float) -> str | None:
    """None when the hub knows the item, else why not; bounded by `timeout` even if DNS hangs."""
    answer: list[str | None] = [f"no answer from the hub within {timeout:g} s"]

    def ask() -> None:
        from huggingface_hub import HfApi
        from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError

        try:
            info = HfApi().model_info if item.repo_type == "model" else HfApi().dataset_info
            info(item.repo_id, timeout=timeout)
            answer[0] = None
        except RepositoryNotFoundError:
            answer[0] = f"no {item.repo_type} {item.repo_id!r} on the hub"
        except HfHubHTTPError:
            answer[0] = None  # gated or rate-limited: the hub is there, the download decides
        except Exception as err:  # noqa: BLE001 - any transport failure means "not reachable"
            answer[0] = f"the hub is not reachable ({type(err).__name__})"

    thread = threading.Thread(target=ask, daemon=True)
    thread.start()
    thread.join(timeout + 1)
    return answer[0]


def check_item(item: HubItem, environ: Any = None, timeout: float = TIMEOUT_S) -> None:
    """Raise ConfigError when the item can be neither downloaded nor read from the cache."""
    cache = hub_cache_dir(environ)
    if is_cached(item, cache):
        return
    if hub_offline(environ):
        why = f"HF_HUB_OFFLINE=1 and not in the HF cache {cache}"
        other = "or download it into the HF cache (HF_HOME) where the hub is reachable"
    elif (why := _ask_hub(item, timeout)) is None:
        return
    else:
        other = "or set HF_HUB_OFFLINE=1 with a populated HF cache (HF_HOME)"
    what = f"the hub dataset {item.repo_id}: " if item.value else ""
    raise ConfigError(
        f"{item.key}={item.value or item.repo_id!r} is invalid: {what}{why}; point at a local copy "
        f"with {item.local}, {other}"
    )


def preflight(cfg: Any, environ: Any = None, timeout: float = TIMEOUT_S) -> None:
    """Check every hub item of `cfg` before compute (see the module docstring)."""
    for item in hub_items(cfg):
        check_item(item, environ, timeout)
