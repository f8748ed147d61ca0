"""How a pipeline run starts and fails: exit code 2 and one line for any invalid config.

Hydra reports composition errors (unknown key, unknown group option, wrong type) itself and exits
with 1; `exit_code_for_config_errors` turns those, Hydra's own setup failures (a file where
hydra.run.dir points) and our `ConfigError` into exit code 2 with a one-line message, a full disk
into exit 3 with one line, while a failure inside a stage keeps its traceback and exit code 1.
"""

from __future__ import annotations

import functools
import os
import sys
import sysconfig
from collections.abc import Callable
from pathlib import Path
from typing import Any

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.errors import HydraException, MissingConfigException
from omegaconf.errors import OmegaConfBaseException

from ssd.config.schema import ConfigError, register_configs
from ssd.disk_space import DISK_FULL_EXIT, disk_full_error, is_disk_full
from ssd.pipeline import run
from ssd.signals import exits_on_signals


def is_config_error(err: BaseException) -> bool:
    if isinstance(err, ConfigError | MissingConfigException):
        return True
    if isinstance(err, OSError | ValueError) and _hydra_side(err):
        return True  # e.g. a file where hydra.run.dir points: Hydra's own setup failed
    if isinstance(err, ValueError) and _raised_inside_hydra(err):
        return True  # e.g. `-m experiment=null`: Hydra's defaults list rejects the override
    # Composition errors arrive before the job starts; `ssd.pipeline.run` re-raises any OmegaConf
    # error from inside a stage as a RuntimeError, so these types mean "the config is wrong".
    return isinstance(err, HydraException | OmegaConfBaseException)


def _raised_inside_hydra(err: BaseException) -> bool:
    """Whether the innermost frame of `err` is Hydra's own composition code (not a task's)."""
    tb = err.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return (
        tb is not None
        and f"{os.sep}hydra{os.sep}_internal{os.sep}" in tb.tb_frame.f_code.co_filename
    )


def _hydra_side(err: BaseException) -> bool:
    """Whether `err` came from Hydra setting a job up (output folder, log file), not from a task:
    the last Hydra frame of its traceback is followed only by standard-library frames."""
    stdlib = sysconfig.get_paths()["stdlib"]
    frames = []
    tb = err.__traceback__
    while tb is not None:
        frames.append(tb.tb_frame.f_code.co_filename)
        tb = tb.tb_next
    hydra = [i for i, name in enumerate(frames) if f"{os.sep}hydra{os.sep}" in name]
    return bool(hydra) and all(name.startswith(stdlib) for name in frames[hydra[-1] + 1 :])


def _os_error_line(err: OSError) -> str:
    """A Hydra-side file error in words, naming the setting that points there."""
    key = "hydra.sweep.dir" if {"-m", "--multirun"} & set(sys.argv) else "hydra.run.dir"
    where = f" {err.filename}" if err.filename else ""
    return (
        f"cannot create Hydra's output folder or log file{where}: {err.strerror or err} "
        f"({key} must name a folder you can create and write, not a file)"
    )


def _headline(lines: list[str]) -> str:
    """The first line, joined with the next when it only announces it ("...while composing:")."""
    if not lines:
        return ""
    return f"{lines[0]} {lines[1]}" if lines[0].endswith(":") and len(lines) > 1 else lines[0]


def one_line(err: BaseException) -> str:
    """First line of the error, the first line of its cause, and the allowed options if listed."""
    if isinstance(err, OSError) and not isinstance(err, HydraException) and err.errno:
        return _os_error_line(err)  # (MissingConfigException is an IOError too: not this)
    lines = [ln.strip() for ln in str(err).splitlines() if ln.strip()]
    text = _headline(lines) or type(err).__name__
    cause = [ln.strip() for ln in str(err.__cause__ or "").splitlines() if ln.strip()]
    if cause:
        text += f": {_headline(cause)}"
    key = next((ln for ln in lines + cause if ln.startswith("full_key:")), None)
    if key and key.split(":", 1)[1].strip() not in text:
        text += f" ({key})"
    if any(ln.startswith("Available options") for ln in lines):
        start = next(i for i, ln in enumerate(lines) if ln.startswith("Available options"))
        options = [
            ln for ln in lines[start + 1 :] if not ln.startswith(("Config search", "provider="))
        ]
        text += f"; allowed: {', '.join(options)}"
    if isinstance(err, ValueError) and "group override" in text:
        text += " (GROUP=null is not an option: leave the group out, or drop it with ~GROUP)"
    return text


def exits_2_on_config_error(task: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """Wrap a Hydra task function: a `ConfigError` from validation ends the job with exit 2.

    Raising SystemExit inside the task keeps Hydra from wrapping the one line in its own report.

    A `CacheError` exits with its own code (a full disk: 3); so does a full disk reported by any
    library while writing outside the cache (the run's folder, W&B): one line, never a traceback.
    """

    @functools.wraps(task)
    def wrapped(cfg: Any) -> Any:
        try:
            return task(cfg)
        except ConfigError as err:
            print(f"error: {err}", file=sys.stderr)
            raise SystemExit(getattr(err, "exit_code", 2)) from None
        except Exception as err:  # noqa: BLE001 - only a full disk becomes one line
            if not is_disk_full(err):
                raise
            print(f"error: {disk_full_error(err, Path.cwd(), 'the run')}", file=sys.stderr)
            raise SystemExit(DISK_FULL_EXIT) from None

    return wrapped


def exit_code_for_config_errors(main: Callable[[], Any]) -> None:
    """Call a `@hydra.main` function; invalid configuration -> one line on stderr, exit 2."""
    os.environ.setdefault("HYDRA_FULL_ERROR", "1")  # let exceptions reach us instead of exit(1)
    try:
        main()
    except Exception as err:  # noqa: BLE001 - classify, then re-raise anything not a config error
        if is_config_error(err):
            print(f"error: {one_line(err)}", file=sys.stderr)
            sys.exit(2)
        raise


def job_output_dir(cfg: Any) -> Path:
    """This job's directory: `paths.output_dir` if set, else the Hydra run (or multirun job) dir."""
    if cfg.paths.output_dir:
        return Path(cfg.paths.output_dir)

    return Path(HydraConfig.get().runtime.output_dir)


CONF_ENV = "SSD_CONF"  # where `ssd run` finds conf/ when the package is not run from a checkout


def conf_dir(environ: dict[str, str] | None = None) -> Path:
    """The project's Hydra config folder: $SSD_CONF, else the checkout's conf/ beside `ssd/`.

    conf/ is not packaged (the layout keeps it at the top level, where users edit it), so a
    wheel-installed `ssd` needs SSD_CONF; say so in one line instead of a Hydra traceback.
    """
    environ = os.environ if environ is None else environ
    found = Path(environ[CONF_ENV]) if environ.get(CONF_ENV) else Path(__file__).parents[2] / "conf"
    if not (found / "config.yaml").is_file():
        raise ConfigError(
            f"{CONF_ENV}={str(found)!r} is invalid: no config.yaml there; `ssd run` needs the "
            "project's conf/ folder: run from a checkout (pip install -e .) or set SSD_CONF"
        )
    return found.resolve()


def run_passthrough(argv: list[str]) -> int:
    """`ssd run [overrides]`: the same as `python train.py [overrides]`, from any directory."""
    register_configs()
    try:
        conf = conf_dir()
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    sys.argv = ["ssd run", *argv]

    @hydra.main(version_base="1.3", config_path=str(conf), config_name="config")
    @exits_2_on_config_error
    def _main(cfg: Any) -> float | None:
        summary = run(cfg, job_output_dir(cfg))
        return summary["best"]["ssd"]["pass@1"] if summary else None

    exits_on_signals(lambda: exit_code_for_config_errors(_main))()
    return 0
