"""The offline install, for real: `make wheelhouse` builds the project's wheel and every dependency
wheel a target without them needs, `make install-offline` installs them into a fresh venv with
pip cut off from every index (--no-index, no pip config, a dead proxy), and the installed `ssd`
runs experiment=smoke from outside the checkout.

The fresh venv stands for a GPU node that already has its torch: torch and what only torch needs
are made visible to it through a .pth file (links to this venv's copies, nothing copied or
installed), which is also why the wheelhouse leaves them out (WH_HAVE=torch). No extras: the
dev/bench wheels (pytest, TRL) would add install time and test nothing new.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
from helpers.support import REPO
from packaging.requirements import Requirement

pytestmark = pytest.mark.slow


def closure(name: str) -> set[str]:
    """`name` and every distribution it requires (this interpreter's markers, no extras)."""
    seen, todo = set(), [name]
    while todo:
        dist = metadata.distribution(todo.pop())
        if dist.metadata["Name"].lower() in seen:
            continue
        seen.add(dist.metadata["Name"].lower())
        for spec in dist.requires or []:
            req = Requirement(spec)
            if not req.marker or req.marker.evaluate({"extra": ""}):
                todo.append(req.name)
    return seen


def link_installed(names: set[str], into: Path) -> None:
    """Symlink each distribution's top-level files and its .dist-info folder into `into`."""
    into.mkdir()
    for name in names:
        dist = metadata.distribution(name)
        site = Path(dist.locate_file(""))
        tops = {Path(f).parts[0] for f in dist.files or [] if not str(f).startswith("..")}
        for top in tops:
            if (site / top).exists() and not (into / top).exists():
                (into / top).symlink_to(site / top)


def offline(env: dict[str, str]) -> dict[str, str]:
    """`env` with pip unable to reach anything but what it is pointed at."""
    env = {k: v for k, v in env.items() if not k.startswith("PIP_")}
    dead = "http://127.0.0.1:9"
    return {**env, "PIP_CONFIG_FILE": os.devnull, "HTTP_PROXY": dead, "HTTPS_PROXY": dead}


def test_a_wheelhouse_installs_into_a_fresh_venv_with_no_index_and_runs_smoke(tmp_path: Path):
    wheels, venv, have = tmp_path / "wheelhouse", tmp_path / "venv", tmp_path / "node-torch"
    make = ["make", "--no-print-directory", "-C", str(REPO)]
    built = subprocess.run(
        [*make, "wheelhouse", f"WHEELHOUSE={wheels}", "WH_EXTRAS=", f"WH_PY={sys.executable}"],
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    names = {p.name.split("-")[0].lower() for p in wheels.glob("*.whl")}
    assert "ssd_sweeps" in names and "lightning" in names and "hydra_core" in names, names
    assert not names & {"torch", "triton", "sympy"} and not any(
        n.startswith("nvidia") for n in names
    )

    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    # The node's torch came with the setuptools it needs; ensurepip's older copy would shadow it.
    subprocess.run([str(python), "-m", "pip", "uninstall", "-q", "-y", "setuptools"], check=True)
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    link_installed(closure("torch"), have)
    (Path(site) / "node_torch.pth").write_text(f"{have}\n")

    env = offline(dict(os.environ))
    installed = subprocess.run(
        [*make, "install-offline", f"WHEELHOUSE={wheels}", f"PYTHON={python}", "WH_EXTRAS="],
        capture_output=True, text=True, timeout=900, env=env,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stdout[-3000:] + installed.stderr[-3000:]

    run = tmp_path / "run"
    smoke = subprocess.run(
        [str(venv / "bin" / "ssd"), "run", "experiment=smoke", "logger=csv", "replicates=1",
         f"paths.cache_dir={tmp_path / 'cache'}", f"hydra.run.dir={run}"],
        cwd=tmp_path, env={**env, "SSD_CONF": str(REPO / "conf")},
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert smoke.returncode == 0, smoke.stdout[-3000:] + smoke.stderr[-3000:]
    results = json.loads((run / "results.json").read_text())
    assert 0 <= results["summary"]["best"]["ssd"]["pass@1"] <= 1
    where = subprocess.run(
        [str(python), "-c", "import ssd, torch; print(ssd.__file__); print(torch.__file__)"],
        cwd=tmp_path, capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    assert where[0].startswith(site) and where[1].startswith(str(have)), where
