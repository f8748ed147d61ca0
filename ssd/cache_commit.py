"""Computing one stage into its partial folder and writing the manifest that makes it finished.

`compute_stage(partial, compute, header)` is the part of `Cache.run` that runs under the stage's
lock: it first removes what an interrupted attempt left half-written or damaged (so a resumed stage
never reads it), runs the stage, lists every file it wrote (`ssd.cache_integrity.record_files`) and
writes manifest.json. A full disk becomes `DiskFull` (one line) after the half-written files go.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ssd.artifacts import atomic_write_json, write_record_path
from ssd.cache_integrity import FILES, MANIFEST, record_files, remove_leftovers, scrub_partial
from ssd.disk_space import DiskFull, disk_full_error, is_disk_full
from ssd.provenance import git_sha, versions


def compute_stage(
    partial: Path, compute: Callable[[Path], dict[str, Any]], header: dict[str, Any]
) -> dict[str, Any]:
    """Run `compute(partial)` and write the manifest (`header` + metrics, provenance, files).

    Raises:
        DiskFull: the filesystem ran out of space; `*.tmp` leftovers are removed, every file
            written whole (shards, finished checkpoints) is kept for the rerun.
    """
    where = f"{header['stage']} {header['key']}"
    if partial.is_dir():
        remove_leftovers(partial)
        if removed := scrub_partial(partial):
            print(
                f"cache: {where}: removed {len(removed)} damaged file(s) of the interrupted "
                f"attempt ({', '.join(removed)}); they are written again",
                file=sys.stderr,
                flush=True,
            )
    partial.mkdir(exist_ok=True)
    started = time.time()
    try:
        metrics = compute(partial)
        remove_leftovers(partial)
        manifest = {
            **header,
            "metrics": metrics,
            "wall_s": round(time.time() - started, 3),
            "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "versions": versions(),
            "git_sha": git_sha(),
            "argv": sys.argv,
            FILES: record_files(partial),
        }
        atomic_write_json(partial / MANIFEST, manifest)
        write_record_path(partial / MANIFEST).unlink(missing_ok=True)
    except DiskFull:
        remove_leftovers(partial)
        raise  # an inner stage's report names the file that did not fit: keep it
    except Exception as err:  # noqa: BLE001 - only a full disk is turned into one line
        if not is_disk_full(err):
            raise
        remove_leftovers(partial)
        raise disk_full_error(err, partial, f"stage {where}") from None
    return manifest
