"""Run untrusted Python in a throwaway sandbox and report what happened.

`run_program(code, stdin)` runs one script in a fresh sandbox and returns an `ExecutionResult`.
`isolation_level()` says which isolation is in use; SSD_SANDBOX=auto|bwrap|rlimits or
`isolation=` forces one: chosen here once per process, by probing each candidate with a tiny
program. The launch underneath, `Sandbox`, lives in `ssd.sandbox.launch`, which `ssd.sandbox.harness` also uses
for its long-lived test harness.

Guarded with bwrap (bubblewrap; probed once per process, the default when it works):
- files: `/` is read-only; /tmp is a private size-capped tmpfs and the only writable place (the
  work dir); /root and /home are hidden (tokens, keys) except the Python install itself;
- network: none (own network namespace); IPC and hostname: own namespaces;
- processes: own PID namespace, so the caller's processes cannot be seen or signalled, and
  everything the program starts, detached or not, dies with it (--die-with-parent, then a kill);
- identity: when the caller is root the program runs as a fresh unprivileged uid with no
  capabilities and no_new_privs (setpriv), so the process limit bites (root is exempt from it);
- environment: fixed and minimal, nothing inherited (no tokens); `python -I -S`;
- resources: rlimits on CPU seconds, address space, file size (= the output cap), open files and
  processes; a wall-clock timeout; stdout/stderr capped (status "output_limit").
Not guarded: reading world-readable files (the repo, the venv, /etc); timing side channels; kernel
bugs. Rlimits-only fallback (no working bwrap; warned once): the resource limits, the fixed
environment, the temp work dir and the kill of everything the program started (process group, then
the environment marker) hold, but there is no network, PID or mount isolation. When the caller is
root the program runs as a fresh unprivileged uid (groups, gid, uid set in the child before exec),
so the process limit bites, and it can write only where anyone can (its work dir, /tmp, /dev/shm)
and signal only its own processes; as any other user it runs as that user, with that user's rights.
`isolation_info()["description"]` says which of these was achieved. Linux only.
"""

from __future__ import annotations

import functools
import logging
import os
import shutil
import signal
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass

from ssd.sandbox.launch import _UID_BASE, Limits, Sandbox, _Profile, read_capped

log = logging.getLogger(__name__)

ISOLATION_ENV = "SSD_SANDBOX"


@dataclass(frozen=True)
class ExecutionResult:
    """What one `run_program` call observed.

    Attributes:
        status: "ok", "runtime_error", "timeout", "memory" or "output_limit".
        stdout: Captured stdout (at most the output cap; UTF-8, undecodable bytes replaced).
        stderr: Captured stderr (same cap).
        returncode: Exit code, negative for a signal (bwrap's 128+N is read back as -N), None when
            the run was killed at the wall-clock limit.
        wall_s: Seconds from launch to exit, sandbox start-up included.
    """

    status: str
    stdout: str
    stderr: str
    returncode: int | None
    wall_s: float


def _requested(isolation: str | None) -> str:
    value = (isolation or os.environ.get(ISOLATION_ENV) or "auto").strip().lower()
    if value not in ("auto", "bwrap", "rlimits"):
        raise ValueError(f"isolation must be auto, bwrap or rlimits, got {value!r}")
    return value


@functools.cache
def _profile(requested: str) -> _Profile:
    """Probe the candidates once per process (a tiny program each) and keep the first that works."""
    candidates = []
    if requested in ("auto", "bwrap") and shutil.which("bwrap"):
        if os.geteuid() == 0 and shutil.which("setpriv"):
            candidates.append(_Profile("bwrap", True))
        candidates.append(_Profile("bwrap", False))
    if requested in ("auto", "rlimits"):
        if os.geteuid() == 0:  # root ignores RLIMIT_NPROC: run the program as a fresh uid
            candidates.append(_Profile("rlimits", True))
            if shutil.which("setpriv"):  # ... that may read what it must (a 0700 /root/.pyenv)
                candidates.append(_Profile("rlimits", True, read_all=True))
        candidates.append(_Profile("rlimits", False))
    for profile in candidates:
        # The probe also checks that the sandbox runs the caller's interpreter and stdlib.
        code = "import sys; print(sys.version, sys.base_prefix)"
        expected = f"{sys.version} {sys.base_prefix}"
        try:
            result = _run_script(profile, code, "", Limits(timeout_s=20.0))
        except OSError as err:  # e.g. the fresh uid may not exec an interpreter under /root
            log.info("sandbox %s failed to start: %s", profile, err)
            continue
        if result.status == "ok" and result.stdout.strip() == expected:
            if profile.level == "rlimits" and requested == "auto":
                message = (
                    "bubblewrap (bwrap) is missing or not working, so untrusted code runs with "
                    "rlimits only: no filesystem, network or PID isolation (apt install bubblewrap)"
                )
                warnings.warn(message, RuntimeWarning, stacklevel=2)
                log.warning(message)
            return profile
        log.info("sandbox %s failed its probe: %s %s", profile, result.status, result.stderr[-300:])
    raise RuntimeError(f"no working sandbox for isolation={requested!r} (is bubblewrap installed?)")


def choose_profile(isolation: str | None = None) -> _Profile:
    """The isolation to launch under: `isolation`, else $SSD_SANDBOX, else the best that works."""
    return _profile(_requested(isolation))


def isolation_level(isolation: str | None = None) -> str:
    """The isolation untrusted code gets in this process: "bwrap" or "rlimits"."""
    return choose_profile(isolation).level


def isolation_info(isolation: str | None = None) -> dict[str, object]:
    """The isolation achieved, recorded next to results: a grade is only as safe as its sandbox.

    "description" is the one line a report prints, e.g. "bwrap, fresh uid (dropped from root)",
    "rlimits, fresh uid (dropped from root)", "rlimits, uid 1000", or "rlimits, uid 0 (root:
    no process limit)" when the uid switch itself failed its probe.
    """
    profile = choose_profile(isolation)
    return {
        "level": profile.level,
        "uid_drop": profile.drop_uid,
        "description": describe(profile),
        "python": sys.version.split()[0],
    }


def describe(profile: _Profile) -> str:
    """One line for `profile` as run by this process's uid."""
    if profile.drop_uid:
        reads = ", may read any file" if profile.read_all else ""
        return f"{profile.level}, fresh uid >= {_UID_BASE} per run (dropped from root{reads})"
    uid = os.geteuid()
    if profile.level == "rlimits" and uid == 0:
        return "rlimits, uid 0 (root: the process limit does not bind)"
    return f"{profile.level}, uid {uid}"


def _main_entry(path: str) -> str:
    # Run the file as a fresh __main__ module, as `python main.py` would.
    return (
        "import types\n"
        f"_m = types.ModuleType('__main__'); _m.__file__ = {path!r}\n"
        f"sys.modules['__main__'] = _m; sys.argv = [{path!r}]\n"
        f"exec(compile(open({path!r}, 'rb').read(), {path!r}, 'exec'), _m.__dict__)"
    )


def _status(rc: int | None, timed_out: bool, over_cap: bool, stderr: str) -> str:
    if timed_out or rc == -signal.SIGXCPU:
        return "timeout"
    if over_cap:
        return "output_limit"
    if rc == 0:
        return "ok"
    if "MemoryError" in stderr[-2000:]:
        return "memory"
    return "runtime_error"


def run_program(
    code: str,
    stdin: str = "",
    timeout_s: float = 6.0,
    memory_mb: int = 1024,
    *,
    max_output_bytes: int = 16 << 20,
    isolation: str | None = None,
) -> ExecutionResult:
    """Run `code` as a script in a fresh sandbox and return what happened.

    Args:
        code: Python source, run as `__main__`.
        stdin: Text fed to the program's standard input.
        timeout_s: Wall-clock limit (sandbox start-up included).
        memory_mb: Address-space limit of each process.
        max_output_bytes: Cap on stdout, on stderr, and on any file the program writes.
        isolation: "auto", "bwrap" or "rlimits"; default from $SSD_SANDBOX, else auto.

    Returns:
        An ExecutionResult; nothing the program does makes this raise.
    """
    profile = choose_profile(isolation)
    limits = Limits(timeout_s, memory_mb, max_output_bytes)
    return _run_script(profile, code, stdin, limits)


def _run_script(profile: _Profile, code: str, stdin: str, limits: Limits) -> ExecutionResult:
    cap = limits.output_bytes
    box = Sandbox({"main.py": code}, _main_entry("{job}/main.py"), limits, profile)
    with (
        box,
        tempfile.TemporaryFile() as fin,
        tempfile.TemporaryFile() as fout,
        tempfile.TemporaryFile() as ferr,
    ):
        fin.write(stdin.encode("utf-8", "surrogatepass"))
        fin.seek(0)
        start = time.monotonic()
        box.start(fin, fout, ferr)
        timed_out = not box.wait(limits.timeout_s)
        if timed_out:
            box.kill()
            box.proc.wait()
        wall = time.monotonic() - start
        rc = None if timed_out else box.returncode()
        stdout, out_size = read_capped(fout, cap)
        stderr, err_size = read_capped(ferr, cap)
    status = _status(rc, timed_out, max(out_size, err_size) > cap, stderr)
    return ExecutionResult(status, stdout, stderr, rc, wall)
