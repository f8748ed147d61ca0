"""Build a wheelhouse: the project's wheel and every dependency wheel a target interpreter lacks,
so an air-gapped GPU node installs with `pip install --no-index` (`make install-offline`).

    python tools/wheelhouse.py OUT [--python-version 3.11] [--platform manylinux_2_28_x86_64]
                                   [--have torch] [--extras dev,bench]

pip resolves the whole dependency tree for the target (`pip install --dry-run --report`, for
another Python or platform with --python-version/--platform, wheels only), then every package
the target already has (--have, default torch: a CUDA build is installed by hand) is cut out with
what only it needs (torch's nvidia-*, triton, sympy...), and the rest is fetched with `pip
download --no-deps` at the resolved versions. OUT/requirements.txt lists what was written.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[1]
PROJECT = "ssd-sweeps"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    target = target_flags(args.python_version, args.platform)
    have = {canonicalize_name(n) for n in args.have.replace(",", " ").split()}
    own = build_project_wheel(out)
    extras = f"[{args.extras}]" if args.extras else ""
    requirement = f"{PROJECT}{extras} @ {own.as_uri()}"
    report = resolve(requirement, [])
    # Packages published only as source (omegaconf's antlr4 pin): built into wheels here, so that
    # a wheels-only resolve for another target finds them and the target never builds anything.
    sdists = [pin(i) for i in report["install"] if is_sdist(i)]
    if sdists:
        pip("wheel", "--quiet", "--no-deps", "-w", str(out), *sdists)
    if target:
        report = resolve(requirement, [*target, "--find-links", str(out)])
    env = target_environment(report["environment"], args.python_version)
    keep = needed(report["install"], PROJECT, have, env)
    pins = [f"{name}=={version}" for name, version in sorted(keep.items()) if name != PROJECT]
    if pins:
        pip(
            "download", "--quiet", "--no-deps", "--only-binary=:all:", *target,
            "--find-links", str(out), "-d", str(out), *pins,
        )  # fmt: skip
    (out / "wheelhouse.txt").write_text("\n".join([f"{PROJECT}{extras}", *pins]) + "\n")
    skipped = sorted(
        {canonicalize_name(i["metadata"]["name"]) for i in report["install"]} - set(keep)
    )
    print(f"wheelhouse {out}: {len(pins) + 1} packages; left to the target: {' '.join(skipped)}")
    return 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", help="folder to write the wheels into")
    parser.add_argument(
        "--python-version", default="", help="target Python, e.g. 3.11 (default: this one)"
    )
    parser.add_argument(
        "--platform",
        default="",
        help="target pip platform tag, e.g. manylinux_2_28_x86_64 (default: this machine)",
    )
    parser.add_argument(
        "--have",
        default="torch",
        help="packages the target already has, left out with what only they need (default: torch)",
    )
    parser.add_argument(
        "--extras",
        default="dev,bench",
        help="project extras to include (default: dev,bench: pytest and TRL for make gpu-check)",
    )
    return parser.parse_args(argv)  # fmt: skip


def target_flags(python_version: str, platform: str) -> list[str]:
    """pip's flags for a target other than this interpreter (wheels only: nothing is built)."""
    flags = [f"--python-version={python_version}"] if python_version else []
    flags += [f"--platform={tag}" for tag in platform.replace(",", " ").split()]
    return ["--only-binary=:all:", *flags] if flags else []


def pin(item: dict) -> str:
    return f"{item['metadata']['name']}=={item['metadata']['version']}"


def is_sdist(item: dict) -> bool:
    return not item["download_info"]["url"].endswith(".whl")


def pip(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "pip", *args], check=True)


def build_project_wheel(out: Path) -> Path:
    """The project's own wheel (built from this checkout, not an editable install)."""
    for old in out.glob("ssd_sweeps-*.whl"):
        old.unlink()
    with tempfile.TemporaryDirectory() as build:
        shutil.copytree(REPO, build, dirs_exist_ok=True, ignore=_not_in_the_wheel)
        pip("wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", str(out), build)
    (wheel,) = out.glob("ssd_sweeps-*.whl")
    return wheel


def _not_in_the_wheel(folder: str, names: list[str]) -> list[str]:
    """Skip what a wheel build would only wade through: venvs, outputs, caches, git."""
    skip = {".git", "outputs", "multirun", "wandb", "build", "__pycache__", ".pytest_cache"}
    return [n for n in names if n in skip or n.startswith(".venv") or n.endswith(".egg-info")]


def resolve(requirement: str, target: list[str]) -> dict:
    """pip's installation report for `requirement` on the target, from scratch (nothing installed)."""
    with tempfile.TemporaryDirectory() as tmp:
        where = ["--target", str(Path(tmp) / "t")] if target else []
        report = Path(tmp) / "report.json"
        pip(
            "install", "--quiet", "--dry-run", "--ignore-installed", "--report", str(report),
            *target, *where, requirement,
        )  # fmt: skip
        return json.loads(report.read_text())


def target_environment(resolved_on: dict, python_version: str) -> dict[str, str]:
    """Marker values of the target: pip's resolving environment, with the target's Python."""
    env = {**default_environment(), **resolved_on}
    if python_version:
        env["python_version"] = ".".join(python_version.split(".")[:2])
        env["python_full_version"] = (
            python_version if python_version.count(".") == 2 else f"{python_version}.0"
        )
    return env


def needed(install: list[dict], root: str, have: set[str], env: dict[str, str]) -> dict[str, str]:
    """name -> version of every resolved package reachable from `root` without passing through a
    package the target has (so what only `have` needs is left out too)."""
    items = {canonicalize_name(i["metadata"]["name"]): i for i in install}
    keep: dict[str, str] = {}
    todo = [
        (
            canonicalize_name(root),
            tuple(items[canonicalize_name(root)].get("requested_extras") or ()),
        )
    ]
    while todo:
        name, extras = todo.pop()
        if name in have or name not in items:
            continue
        first = name not in keep
        keep[name] = items[name]["metadata"]["version"]
        for spec in items[name]["metadata"].get("requires_dist") or []:
            req = Requirement(spec)
            active = not req.marker or any(
                req.marker.evaluate({**env, "extra": extra}) for extra in (*extras, "")
            )
            dep = canonicalize_name(req.name)
            if active and (first or dep not in keep):
                todo.append((dep, tuple(req.extras)))
    return keep


if __name__ == "__main__":
    sys.exit(main())
