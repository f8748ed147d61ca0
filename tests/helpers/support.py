"""Paths and helpers shared by tests that cannot take fixtures (module-scoped set-ups)."""

import functools
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CONF = REPO / "conf"
ASSETS = REPO / "tests" / "assets"
GOLDEN = REPO / "tests" / "golden"


def compose_run(*overrides: str, cache: Path, out: Path):
    """`conf/config.yaml` composed with overrides, its stages cached in `cache`, its outputs in
    `out`, logging off; writable (the `make_cfg` fixture's config, where no fixture can be had).

    Without an `experiment=` override it is the fork/lock toy's (experiment=toy), not the
    default preset: the toy is exact and seconds fast, the testbed most tests mean.
    """
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    named = any(o.lstrip("~+").startswith("experiment") for o in overrides)
    preset = [] if named else ["experiment=toy"]
    with initialize_config_dir(str(CONF), version_base="1.3"):
        paths = [f"paths.cache_dir={cache}", f"paths.output_dir={out}", "logger=none"]
        cfg = compose("config", overrides=[*paths, *preset, *overrides])
    OmegaConf.set_readonly(cfg, False)
    return cfg


def wandb_records(run_dir: Path):
    """Every `Record` protobuf of an offline W&B run, read from its `.wandb` file as W&B writes
    it (a 7-byte header, then LevelDB-log records in 32 KiB blocks), so a test checks what would
    be synced, not what our code meant to send."""
    import struct

    from wandb.proto import wandb_internal_pb2 as pb

    (path,) = run_dir.glob("*.wandb")
    raw, pos, block, partial = path.read_bytes(), 7, 32768, b""
    while pos + 7 <= len(raw):
        if block - pos % block < 7:  # a block's tail too short for a header is padding
            pos += block - pos % block
            continue
        _crc, length, kind = struct.unpack("<IHB", raw[pos : pos + 7])
        if length == 0 and kind == 0:
            pos += block - pos % block
            continue
        data, pos = raw[pos + 7 : pos + 7 + length], pos + 7 + length
        partial = data if kind in (1, 2) else partial + data
        if kind not in (1, 4):  # FIRST / MIDDLE pieces of a longer record
            continue
        record = pb.Record()
        record.ParseFromString(partial)
        yield record


def read_wandb_run(run_dir: Path) -> dict:
    """What an offline W&B run recorded: group, job type, config and summary keys, exit code."""
    found: dict = {"group": None, "job_type": None, "config": set(), "summary": set()}
    found["exit_code"] = None
    for record in wandb_records(run_dir):
        which = record.WhichOneof("record_type")
        if which == "run":
            found["group"], found["job_type"] = record.run.run_group, record.run.job_type
            found["config"] |= {item.key for item in record.run.config.update}
        elif which == "summary":
            found["summary"] |= {
                item.key or "/".join(item.nested_key) for item in record.summary.update
            }
        elif which == "exit":
            found["exit_code"] = record.exit.exit_code
    return found


def strays(token: str) -> list[int]:
    """Host processes whose command line contains `token` (what a sandbox must not leave behind)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if token.encode() in cmdline.read_bytes():
                found.append(int(cmdline.parent.name))
        except OSError:
            continue
    return found


@functools.cache
def bwrap_works() -> bool:
    """bubblewrap is installed and allowed here (not, say, in an unprivileged container)."""
    from ssd.sandbox.execution import isolation_level

    try:
        return isolation_level("bwrap") == "bwrap"
    except RuntimeError:
        return False


def needs_bwrap():
    """A skip mark for a test that only means something under bubblewrap."""
    import pytest

    return pytest.mark.skipif(not bwrap_works(), reason="needs a working bubblewrap")


def isolations() -> list:
    """Both isolation levels as parameters; bwrap skipped where it cannot run."""
    import pytest

    return [pytest.param("bwrap", marks=needs_bwrap()), "rlimits"]


def strays_left(token: str, grace_s: float = 5.0) -> list[int]:
    """`strays(token)` once SIGKILLed ones had `grace_s` to leave /proc: a sweep kills without
    waiting for the kernel to reap, and on a loaded machine a killed process lingers a moment."""
    deadline = time.monotonic() + grace_s
    while (found := strays(token)) and time.monotonic() < deadline:
        time.sleep(0.01)
    return found
