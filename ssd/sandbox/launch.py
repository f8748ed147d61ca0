"""How one `python -I -S` is launched, confined and cleaned up: `Sandbox`, with its `Limits`.

The mechanism under `ssd.sandbox.execution` (a fresh sandbox per script; it also chooses the isolation)
and `ssd.sandbox.harness` (one long-lived test harness). It is staged into the sandbox for the harness
server (the whole `ssd.sandbox` package, see `_stage_package`), so it imports only the stdlib. What each
isolation level guards, and what it does not, is listed in `ssd.sandbox.execution`.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import json
import os
import resource
import select
import shutil
import signal
import site
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

# Fixed, not inherited: a secret in the caller's environment must not reach the program.
_ENV = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "LANG": "C.UTF-8",
    "HOME": "/tmp",
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}
_HIDDEN_DIRS = ("/root", "/home")
_JOB_DIR_IN_BWRAP = "/tmp/job"  # the read-only staging dir (code, test inputs) seen from inside
_TMP_MB = 256  # size of the private /tmp tmpfs (the writable work dir) under bwrap
MARKER_VAR = "SSD_SANDBOX_RUN"  # rlimits mode: tags the environment of the program's processes
_UID_BASE = 1_000_000  # fresh uids for sandboxed runs when the caller is root
_uid_counter = itertools.count()


@dataclass(frozen=True)
class Limits:
    """Resource limits of one launch; every process of the program gets them."""

    timeout_s: float = 6.0  # wall clock; RLIMIT_CPU is this plus 2 s
    memory_mb: int = 1024  # RLIMIT_AS, per process
    output_bytes: int = 16 << 20  # stdout, stderr and any written file (RLIMIT_FSIZE)
    nproc: int = 64  # threads count too; enough for the `threading.Thread(target=main)` idiom
    nofile: int = 64
    cpu_s: int | None = None  # None: int(timeout_s) + 2; a long-lived harness: RLIM_INFINITY


@dataclass(frozen=True)
class _Profile:
    level: str  # "bwrap" | "rlimits"
    # Run the program as a fresh unprivileged uid; only when the caller is root (bwrap: setpriv;
    # rlimits: setgroups/setgid/setuid in the child before exec). Root ignores RLIMIT_NPROC.
    drop_uid: bool
    # rlimits as root only: keep CAP_DAC_READ_SEARCH (read any file, write none) through setpriv,
    # for an interpreter the fresh uid cannot read (e.g. under a 0700 /root).
    read_all: bool = False


@functools.cache
def _import_paths(import_repo: bool) -> tuple[str, ...]:
    # `-S` skips site (its .pth processing is most of the start-up time), so site-packages is
    # added by hand; the grading harness also needs this package, wherever it is installed.
    # The harness modules themselves are copied into the staging dir (see `_stage_package`): the
    # repository may live where the sandbox uid cannot read (a 0700 temp dir, a home directory).
    return tuple(p for p in site.getsitepackages() if os.path.isdir(p))


def _stage_package(stage: Path) -> None:
    """Copy the whole `ssd.sandbox` package (stdlib-only) into the staging dir, readable by all.

    The top-level `ssd/__init__.py` comes along empty-handed: importing `ssd.sandbox.*` inside
    the sandbox must never pull in torch or anything else from the rest of the project.
    """
    here = Path(__file__).resolve().parent
    top, target = stage / "pkg" / "ssd", stage / "pkg" / "ssd" / "sandbox"
    target.mkdir(parents=True)
    shutil.copyfile(here.parent / "__init__.py", top / "__init__.py")
    for source in sorted(here.glob("*.py")):
        shutil.copyfile(source, target / source.name)
    for path in (*top.rglob("*.py"), stage / "pkg", top, target):
        path.chmod(0o755 if path.is_dir() else 0o644)


@functools.cache
def _needed_paths(import_repo: bool) -> tuple[str, ...]:
    """Real paths the sandboxed interpreter reads, re-exposed when a hidden dir covers them."""
    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    paths.add(os.path.dirname(os.path.realpath(sys.executable)))
    paths.update(_import_paths(import_repo))
    real = sorted({os.path.realpath(p) for p in paths if os.path.exists(p)})
    return tuple(p for i, p in enumerate(real) if not any(_under(p, q) for q in real[:i]))


def _under(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def _bwrap_argv(stage: Path, uid: int | None, import_repo: bool) -> list[str]:
    needed = _needed_paths(import_repo)
    argv = ["bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
    for hidden in (*_HIDDEN_DIRS, "/tmp"):
        if hidden == "/tmp":
            argv += ["--perms", "1777", "--size", str(_TMP_MB << 20), "--tmpfs", "/tmp"]
        elif os.path.isdir(hidden):
            argv += ["--tmpfs", hidden]
        for path in (p for p in needed if _under(p, hidden) and p != hidden):
            # bwrap would create the missing parents with mode 0700, closed to the sandbox uid.
            parents = Path(path).relative_to(hidden).parents
            for parent in sorted(str(Path(hidden, q)) for q in parents if str(q) != "."):
                argv += ["--perms", "0755", "--dir", parent]
            argv += ["--ro-bind", path, path]
    argv += ["--ro-bind", str(stage), _JOB_DIR_IN_BWRAP, "--chdir", "/tmp"]
    # Not --unshare-all: it would add a user namespace, in which setpriv's uid does not exist.
    argv += ["--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts"]
    argv += ["--unshare-cgroup-try", "--die-with-parent", "--new-session"]
    if uid is None:
        return argv + ["--"]
    # bwrap needs root for its mounts; the program then runs as a fresh uid without capabilities.
    argv += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--", "setpriv"]
    return argv + [f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--no-new-privs", "--"]


def _boot(entry: str, import_repo: bool, limits: Limits, job_dir: str = "") -> str:
    """The `python -I -S -c` source: the rlimits (set here, before any untrusted line runs, so
    that Popen can spawn without a slow preexec_fn), import paths, exit()/quit(), then entry."""
    return "\n".join(
        [
            "import sys, builtins, resource, _sitebuiltins",
            f"for _k, _v in {_rlimits(limits)!r}: resource.setrlimit(_k, (_v, _v))",
            f"sys.path += {list(_import_paths(import_repo))!r}",
            f"sys.path.insert(0, {job_dir + '/pkg'!r})" if import_repo else "",
            "builtins.exit = _sitebuiltins.Quitter('exit', 'Ctrl-D (i.e. EOF)')",
            "builtins.quit = _sitebuiltins.Quitter('quit', 'Ctrl-D (i.e. EOF)')",
            entry,
        ]
    )


def _rlimits(limits: Limits) -> list[tuple[int, int]]:
    return [
        (resource.RLIMIT_CPU, int(limits.timeout_s) + 2 if limits.cpu_s is None else limits.cpu_s),
        (resource.RLIMIT_AS, limits.memory_mb << 20),
        (resource.RLIMIT_FSIZE, limits.output_bytes + 1),  # one byte over the cap = flagged
        (resource.RLIMIT_NOFILE, limits.nofile),
        (resource.RLIMIT_NPROC, limits.nproc),
        (resource.RLIMIT_CORE, 0),
    ]


class Sandbox:
    """One launch of a sandboxed `python -I -S`; a context manager that always cleans up.

    Args:
        files: Name -> text, written to a fresh staging dir that the program reads at `job_dir`
            (read-only under bwrap).
        entry: Python source run by the interpreter; "{job}" in it becomes the job dir path.
        limits: Resource limits.
        profile: The isolation to launch under, as chosen (and probed) by
            `ssd.sandbox.execution.choose_profile`; this module only carries it out.
        import_repo: Make this package importable inside (the grading harness needs it).
    """

    def __init__(
        self,
        files: dict[str, str],
        entry: str,
        limits: Limits,
        profile: _Profile,
        import_repo: bool = False,
    ):
        self.profile = profile
        self.limits = limits
        self.proc: subprocess.Popen | None = None
        self._ns_init: int | None = None  # pidfd of bwrap's PID-namespace init
        self.stage = Path(tempfile.mkdtemp(prefix="ssd-sandbox-"))
        for name, text in files.items():
            # surrogatepass: a lone surrogate in model output must not crash the grader.
            (self.stage / name).write_text(text, encoding="utf-8", errors="surrogatepass")
            (self.stage / name).chmod(0o644)  # whatever the umask: the sandbox uid reads it
        # Fresh per launch, so two programs never share a process count or can signal each other.
        self.uid = _UID_BASE + (os.getpid() % 100_000) * 100 + next(_uid_counter) % 100
        if self.profile.level == "bwrap":
            uid = self.uid
            self.stage.chmod(0o755)  # readable through the bind by the unprivileged uid
            prefix = _bwrap_argv(self.stage, uid if self.profile.drop_uid else None, import_repo)
            self.job_dir = _JOB_DIR_IN_BWRAP
            self.env = dict(_ENV)
        else:
            prefix, self.job_dir = self._setpriv_argv(), str(self.stage)
            # No PID namespace here: this marker, inherited by every descendant that keeps its
            # environment, is how __exit__ finds children that left the group with setsid().
            self.marker = f"{os.getpid()}.{next(_uid_counter)}.{time.monotonic_ns()}"
            self.env = dict(_ENV, **{MARKER_VAR: self.marker})
            if self.profile.drop_uid:
                os.chown(self.stage, self.uid, self.uid)  # the work dir: the program writes here
        if import_repo:
            _stage_package(self.stage)
        boot = _boot(entry.replace("{job}", self.job_dir), import_repo, limits, self.job_dir)
        self.argv = [*prefix, sys.executable, "-I", "-S", "-c", boot]

    def start(self, stdin, stdout, stderr) -> subprocess.Popen:
        """Launch; the arguments are as for `subprocess.Popen`."""
        argv, info_r, info_w = self.argv, None, None
        if self.profile.level == "bwrap":
            # bwrap reports its PID-namespace init; __exit__ waits for it so that nothing the
            # program started is still alive when the sandbox is left.
            info_r, info_w = os.pipe()
            argv = [argv[0], "--info-fd", str(info_w), *argv[1:]]
        try:
            self.proc = subprocess.Popen(
                argv,
                stdin=stdin,
                stdout=stdout,
                stderr=stderr,
                cwd=self.stage,
                env=self.env,
                start_new_session=True,  # its own process group, killed as a whole
                pass_fds=() if info_w is None else (info_w,),
                **self._identity(),
            )
        finally:
            if info_w is not None:
                os.close(info_w)
        if info_r is not None:
            self._ns_init = _open_ns_init(info_r)
        return self.proc

    def _identity(self) -> dict[str, object]:
        """Popen's uid switch for the rlimits fallback as root: groups, gid, then uid, before exec.

        Under bwrap setpriv does this inside the namespaces instead (bwrap needs root to mount).
        """
        if self.profile.level != "rlimits" or not self.profile.drop_uid or self.profile.read_all:
            return {}
        return {"user": self.uid, "group": self.uid, "extra_groups": []}

    def _setpriv_argv(self) -> list[str]:
        """The rlimits uid switch that keeps read access (setpriv), when `read_all` asks for it."""
        if not self.profile.read_all:
            return []
        caps = "-all,+dac_read_search"
        return ["setpriv", f"--reuid={self.uid}", f"--regid={self.uid}", "--clear-groups"] + [
            f"--inh-caps={caps}",
            f"--ambient-caps={caps}",
            f"--bounding-set={caps}",
            "--no-new-privs",
            "--",
        ]

    def wait(self, timeout: float) -> bool:
        """Wait up to `timeout` s for the launched process to exit; False if it is still running."""
        try:  # a pidfd wakes us at exit; Popen.wait(timeout) polls with sleeps of up to 50 ms
            fd = os.pidfd_open(self.proc.pid)
        except (AttributeError, OSError):
            fd = None
        if fd is not None:
            try:
                if not select.select([fd], [], [], max(timeout, 0.0))[0]:
                    return False
            finally:
                os.close(fd)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return False
        return True

    def kill(self) -> None:
        """SIGKILL the whole process group (under bwrap that ends the PID namespace too)."""
        if self.proc is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)

    def returncode(self) -> int | None:
        """The program's exit status, with bwrap's 128+N for signal N read back as -N."""
        rc = self.proc.returncode if self.proc is not None else None
        if rc is not None and self.profile.level == "bwrap" and 128 < rc < 128 + signal.NSIG:
            return -(rc - 128)
        return rc

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.kill()  # also the leftovers of a program that exited (detached children)
        if self.proc is not None:
            self.proc.wait()
            if self._ns_init is not None:
                # The namespace init exits only after every process inside is gone.
                select.select([self._ns_init], [], [], 30.0)
                os.close(self._ns_init)
                self._ns_init = None
            if self.profile.level == "rlimits":
                kill_marked(f"{MARKER_VAR}={self.marker}".encode())
            for stream in (self.proc.stdin, self.proc.stdout):
                if stream is not None:
                    stream.close()
        shutil.rmtree(self.stage, ignore_errors=True)


def _open_ns_init(info_fd: int) -> int | None:
    """Read bwrap's --info-fd JSON and return a pidfd of its namespace init (None if unknown)."""
    with os.fdopen(info_fd, "rb") as stream:
        data = stream.read(1 << 16)
    try:
        return os.pidfd_open(int(json.loads(data)["child-pid"]))
    except (ValueError, KeyError, TypeError, OSError, AttributeError):
        return None


def kill_marked(marker: bytes, spare: int = -1) -> None:
    """SIGKILL every process (but `spare`) whose environment holds `marker`, until none is left."""
    for _ in range(20):  # a process may fork while we scan; each pass kills what it finds
        found = False
        for environ in Path("/proc").glob("[0-9]*/environ"):
            try:
                pid = int(environ.parent.name)
                if pid != spare and marker in environ.read_bytes().split(b"\0"):
                    os.kill(pid, signal.SIGKILL)
                    found = True
            except (OSError, ValueError):
                continue  # gone, a zombie, or not ours to read
        if not found:
            return


def read_capped(stream, cap: int) -> tuple[str, int]:
    """Read up to `cap` bytes of a binary temp file from its start; also return its full size."""
    stream.flush()
    size = os.fstat(stream.fileno()).st_size
    stream.seek(0)
    return stream.read(cap).decode("utf-8", "replace"), size
