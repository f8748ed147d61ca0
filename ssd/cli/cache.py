"""`ssd cache ls | verify | gc | rm`: see, check and clean a stage cache (a shared one included).

    ssd cache ls --cache-dir /shared/ssd-cache             # stages, keys, sizes, ages, users
    ssd cache verify --full --repair                       # hash every file; move damage aside
    ssd cache gc --keep outputs/multirun --older-than 30   # dry run: what would go, what it frees
    ssd cache gc --yes                                     # remove what no finished run needs
    ssd cache rm 74b06ad53cac7569                          # one stage, by key

`gc` and `rm` never touch a stage whose lock a running job holds.
"""

from __future__ import annotations

import argparse
import re
import time
from pathlib import Path

from ssd.cache import Cache
from ssd.cache_index import RUN, Entry, needed_by, remove, runs_under, scan, users
from ssd.cache_integrity import DAMAGED_DIR, FILES
from ssd.config.schema import ConfigError
from ssd.disk_space import human

DEFAULT_CACHE = "outputs/cache"  # paths.cache_dir's default
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


def parse_size(text: str) -> int:
    """'500M', '20G', '1.5T', '1024' -> bytes (1024-based); argparse reports a bad value."""
    match = re.fullmatch(r"\s*([0-9.]+)\s*([kmgt]?)i?b?\s*", text.lower())
    if not match:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size (e.g. 500M, 20G)")
    return int(float(match.group(1)) * _UNITS[match.group(2)])


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--cache-dir", default=DEFAULT_CACHE, help=f"the cache (paths.cache_dir; {DEFAULT_CACHE})"
    )
    ls = sub.add_parser("ls", parents=[common], help="stages, keys, sizes, ages and their users")
    ls.add_argument("--stage", help="only this stage (base, sample, filter, finetune, ...)")
    ls.add_argument(
        "--outputs", nargs="*", default=[], type=Path, help="run/sweep folders to name as users"
    )
    verify = sub.add_parser("verify", parents=[common], help="check every stage's files")
    verify.add_argument("--full", action="store_true", help="hash every file (reads checkpoints)")
    verify.add_argument("--repair", action="store_true", help="move damaged stages aside")
    gc = sub.add_parser(
        "gc", parents=[common], help="remove what no kept run needs (dry run unless --yes)"
    )
    gc.add_argument(
        "--keep",
        nargs="*",
        type=Path,
        help="run or sweep output folders whose runs are kept (default: every finished run)",
    )
    gc.add_argument("--older-than", type=float, metavar="DAYS", help="also unused for DAYS")
    gc.add_argument("--larger-than", type=parse_size, metavar="SIZE", help="also above SIZE")
    gc.add_argument(
        "--min-age",
        type=float,
        default=1.0,
        metavar="HOURS",
        help="never remove what was used this recently (a running job's stages; default 1)",
    )
    gc.add_argument("--yes", action="store_true", help="remove (default: only say what would go)")
    rm = sub.add_parser("rm", parents=[common], help="remove stage(s) by key")
    rm.add_argument("keys", nargs="+", metavar="KEY")


def _root(args: argparse.Namespace) -> Path:
    root = Path(args.cache_dir).expanduser().resolve()
    if not root.is_dir():
        raise ConfigError(f"--cache-dir={args.cache_dir!r} is invalid: no such folder")
    return root


def _age(entry: Entry) -> str:
    days = entry.age_days
    return f"{days * 24:.1f}h" if days < 1 else f"{days:.1f}d"


def _ls(args: argparse.Namespace) -> int:
    entries = scan(_root(args))
    used = users(entries)
    named = {key: str(folder) for folder in args.outputs for key in runs_under([folder])}
    print(f"{'stage':<22} {'key':<16} {'state':<10} {'size':>10} {'unused':>7}  used by")
    for e in entries:
        if args.stage and e.stage != args.stage:
            continue
        runs = sorted(used.get(e.key, set()) | ({e.key} if e.stage == RUN else set()))
        who = ", ".join(f"run {r}" + (f" ({named[r]})" if r in named else "") for r in runs)
        print(f"{e.stage:<22} {e.key:<16} {e.state:<10} {human(e.size):>10} {_age(e):>7}  {who}")
    total = sum(e.size for e in entries)
    print(f"{len(entries)} folders, {human(total)}")
    return 0


def _verify(args: argparse.Namespace) -> int:
    root = _root(args)
    cache = Cache.at(root, verify="full" if args.full else "sizes")
    checked, damaged, unlisted = 0, [], 0
    for e in scan(root):
        if e.stage.startswith(DAMAGED_DIR) or e.state != "ok":
            continue
        checked += 1
        manifest, problem = cache.inspect(e.stage, e.key)
        unlisted += manifest is not None and FILES not in manifest
        if problem:
            damaged.append(e)
            where = cache.set_aside(e.stage, e.key, problem) if args.repair else None
            moved = f"; moved to {where}" if where else ""
            print(f"damaged: {e.stage} {e.key}: {problem}{moved}")
    mode = "sizes and hashes of every file" if args.full else "sizes (hashes of small files)"
    print(f"{checked} stages checked ({mode}): {len(damaged)} damaged")
    if unlisted:
        print(f"{unlisted} stages were made before manifests listed their files: not checkable")
    return 1 if damaged and not args.repair else 0


def _gc(args: argparse.Namespace) -> int:
    entries = scan(_root(args))
    now = time.time()
    recent = {e.key for e in entries if now - e.last_used < args.min_age * 3600}
    runs = {e.key for e in entries if e.stage == RUN and e.state == "ok"}
    if args.keep is not None:
        kept_runs = runs_under(args.keep) & runs
        protected = needed_by(entries, kept_runs)
    else:
        kept_runs, protected = runs, set()

        def too_old_or_big(e: Entry) -> bool:
            old = args.older_than is not None and e.age_days > args.older_than
            return old or (args.larger_than is not None and e.size > args.larger_than)

        kept_runs = {r for r in runs if not any(e.key == r and too_old_or_big(e) for e in entries)}
    needed = needed_by(entries, kept_runs)
    doomed = []
    for e in entries:
        if e.state == "damaged":
            doomed.append((e, "set aside as damaged"))
        elif e.key in recent or e.key in protected:
            continue
        elif args.older_than is not None and e.age_days > args.older_than:
            doomed.append((e, f"unused for {_age(e)}"))
        elif args.larger_than is not None and e.size > args.larger_than:
            doomed.append((e, f"larger than {human(args.larger_than)}"))
        elif e.key not in needed:
            doomed.append((e, "no kept run needs it" if e.state == "ok" else f"{e.state} attempt"))
    freed = 0
    for e, why in doomed:
        gone = remove(e) if args.yes else True
        freed += e.size if gone else 0
        verb = ("removed" if gone else "kept (a job holds its lock)") if args.yes else "would go"
        print(f"{verb}: {e.stage} {e.key} {human(e.size)} ({why})")
    if args.yes:
        print(f"freed {human(freed)} ({len(doomed)} folders)")
    else:
        print(f"dry run: {len(doomed)} folders, {human(freed)} would be freed; add --yes to remove")
    return 0


def _rm(args: argparse.Namespace) -> int:
    entries = scan(_root(args))
    for key in args.keys:
        found = [e for e in entries if e.key == key and e.state != "damaged"]
        if not found:
            raise ConfigError(f"KEY={key!r} is invalid: no stage of {args.cache_dir} has that key")
        for e in found:
            if not remove(e):
                raise ConfigError(f"KEY={key!r}: a running job holds the lock of {e.path}")
            print(f"removed: {e.stage} {e.key} {human(e.size)} ({e.state})")
    return 0


def cli(args: argparse.Namespace) -> int:
    return {"ls": _ls, "verify": _verify, "gc": _gc, "rm": _rm}[args.action](args)
