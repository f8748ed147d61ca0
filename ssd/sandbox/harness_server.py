"""The warm test harness, sandbox side: the server that runs inside `ssd.sandbox.harness.Runner`'s sandbox.

`_harness_main(root)` is the sandbox's entry point: it warms up the interpreter, then serves jobs
(JSON lines) from stdin, running each test in a forked worker with its own time budget and CPU
limit (strict), or all of a program's tests in ONE forked worker the way an official grader's
child does (`official` jobs: `ssd.sandbox.official`, one budget for the program), and writes one
JSON record per test to stdout; between programs it kills their leftovers and empties the work dir. This module is copied into the sandbox with the rest of `ssd.sandbox`
(stdlib-only; see `ssd.sandbox.launch._stage_package`).
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import select
import shutil
import signal
import sys
import tempfile
import time
import traceback
import types
from pathlib import Path

from ssd.sandbox.launch import MARKER_VAR, kill_marked, read_capped

_WARM = "string re datetime collections heapq bisect copy math random statistics itertools " + (
    "functools operator io json typing decimal fractions array traceback"
)
_EXIT_MEMORY = 3  # a test worker's exit code for MemoryError


def _harness_main(root: str) -> None:
    """Serve jobs from stdin: run each test in a forked worker, one JSON line each on stdout."""
    for name in _WARM.split():
        __import__(name)
    with contextlib.suppress(Exception):  # no ptrace or /proc/<pid>/fd of the harness
        import ctypes

        ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE = 0
    in_pidns = _in_bwrap()
    scratch = tempfile.mkdtemp(prefix="work-", dir="/tmp" if in_pidns else root)
    inbox = _Inbox()
    try:
        _serve(inbox, root, scratch, in_pidns)
    finally:  # the host went away without cleaning up (killed): under rlimits, do it here
        if not in_pidns and os.environ.get(MARKER_VAR):
            _sweep(scratch, in_pidns)
            shutil.rmtree(root, ignore_errors=True)


def _serve(inbox: _Inbox, root: str, scratch: str, in_pidns: bool) -> None:
    while (job := inbox.get(None)) is not None:
        if "code" not in job:
            continue  # a stop for a job that had already ended
        try:
            # The last program may have removed or replaced the work dir: make it anew.
            if os.path.islink(scratch) or not os.path.isdir(scratch):
                with contextlib.suppress(OSError):
                    os.unlink(scratch)
                os.makedirs(scratch, exist_ok=True)
            os.chdir(scratch)
            if job.get("official"):
                _run_official_job(job, root, inbox)
            else:
                _run_job(job, root, inbox)
        finally:
            _sweep(scratch, in_pidns)
            _emit({"end": job["id"]})


def _emit(record: dict) -> None:
    sys.stdout.write(json.dumps(record) + "\n")
    sys.stdout.flush()


class _Inbox:
    """Lines (JSON) from the host on fd 0, read without blocking the harness for long."""

    def __init__(self) -> None:
        self.buffer = b""

    def get(self, timeout: float | None) -> dict | None:
        """The next message; None on EOF (or, with a timeout, when nothing came)."""
        while b"\n" not in self.buffer:
            if not select.select([0], [], [], timeout)[0]:
                return None
            chunk = os.read(0, 1 << 20)
            if not chunk:
                raise SystemExit(0)  # the host went away
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return json.loads(line)


def _run_job(job: dict, root: str, inbox: _Inbox) -> None:
    try:
        # dont_inherit: not this module's `from __future__ import annotations` (a judge runs
        # the program without it: an undefined name in an annotation is a NameError)
        code = compile(job["code"], "solution.py", "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as exc:  # ValueError: NUL bytes in the source
        _emit(
            {
                "id": job["id"],
                "status": "compile_error",
                "error": f"{type(exc).__name__}: {exc}"[:300],
            }
        )
        return
    for i in range(job["n"]):
        record = _run_case(code, job, os.path.join(root, job["id"], f"{i}.in"), inbox)
        if record is None:
            return  # stopped by the host
        _emit({"id": job["id"], **record})


def _run_case(code, job: dict, in_path: str, inbox: _Inbox) -> dict | None:
    paths = {"out": "case.out", "err": "case.err", "ret": "case.ret"}
    for path in paths.values():
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
    sys.stdout.flush()  # nothing buffered may be duplicated into the worker
    start = time.monotonic()
    try:
        pid = os.fork()
    except OSError as exc:  # e.g. the process limit
        return {"status": "runtime_error", "error": f"cannot fork a test worker: {exc}"}
    if pid == 0:
        _case_worker(code, job, in_path, paths)
    finished, stopped = _wait(pid, job["timeout_s"], inbox)
    for kill in (os.kill, os.killpg):  # the worker (it may not have called setsid yet)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            kill(pid, signal.SIGKILL)  # and whatever it left in its group
    rc = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
    if stopped:
        return None
    cap = job["cap"]
    (out, out_size), (err, err_size), (ret, ret_size) = (_read(paths[k], cap) for k in paths)
    record = {"status": "ok", "error": "", "wall_s": round(time.monotonic() - start, 4)}
    last = (err.strip().splitlines() or [""])[-1][:200]
    if not finished or rc == -signal.SIGXCPU:
        record.update(status="timeout", error=f"time limit {job['timeout_s']} s exceeded")
    elif max(out_size, ret_size, err_size) > cap:
        record.update(status="output_limit", error=f"output over {cap} bytes")
    elif rc == _EXIT_MEMORY or (rc != 0 and "MemoryError" in err[-2000:]):
        record.update(status="memory", error="MemoryError")
    elif rc != 0:
        name = signal.Signals(-rc).name if -rc in signal.valid_signals() else ""
        record.update(
            status="runtime_error", error=f"killed by {name}" if name else last or f"exit code {rc}"
        )
    elif job["mode"] == "script" and ret != job["id"]:
        record.update(
            status="runtime_error", error=last or "the program exited before running to its end"
        )
    if record["status"] == "ok":
        record.update(stdout=out if job["mode"] == "stdin" else "", value=ret or None)
    return record


def _run_official_job(job: dict, root: str, inbox: _Inbox) -> None:
    """One forked worker runs ALL the program's tests, as the official tool's child process
    does (`ssd.sandbox.official`); its records are relayed as they come. The whole program has
    one budget (job["budget_s"], the official global timeout); a worker that ends, crashes or
    runs out of it before its last record gets one closing record saying why."""
    _warm_official(job["official"]["grader"])
    paths = {"out": "case.out", "err": "case.err"}
    for path in paths.values():
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
    read_fd, write_fd = os.pipe()
    sys.stdout.flush()
    start = last = time.monotonic()
    try:
        pid = os.fork()
    except OSError as exc:
        os.close(read_fd)
        os.close(write_fd)
        _emit({"id": job["id"], "status": "runtime_error", "error": f"cannot fork: {exc}"})
        return
    if pid == 0:
        os.close(read_fd)
        _official_worker(job, root, write_fd, paths)
    os.close(write_fd)
    deadline, cap, n = start + job["budget_s"], job["cap"], job["n"]
    count, buffer, status, why = 0, b"", "ok", ""
    pidfd = os.pidfd_open(pid)
    try:
        while count < n:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                status, why = "timeout", f"over the {job['budget_s']:g} s budget"
                break
            ready = select.select([read_fd, 0, pidfd], [], [], remaining)[0]
            if 0 in ready and inbox.get(0) is not None:
                return  # stopped by the host (finally: the worker is killed)
            if read_fd not in ready:
                if pidfd in ready:  # it ended, all it wrote read: a child may hold the pipe
                    break
                continue
            chunk = os.read(read_fd, 1 << 20)
            if not chunk:
                break  # the worker ended (or closed its pipe)
            buffer += chunk
            if len(buffer) > 2 * cap + 4096:
                status, why = "output_limit", f"output over {cap} bytes"
                break
            while b"\n" in buffer and count < n:
                line, buffer = buffer.split(b"\n", 1)
                now = time.monotonic()
                record = _official_record(line, cap)
                _emit({"id": job["id"], **record, "wall_s": round(now - last, 4)})
                last, count = now, count + 1
                if record["status"] != "ok":
                    return  # the official loops end at the first failure
    finally:
        for kill in (os.kill, os.killpg):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                kill(pid, signal.SIGKILL)
        rc = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
        os.close(read_fd)
        os.close(pidfd)
    if count < n:
        if status == "ok":
            status, why = _official_exit(rc, _read(paths["err"], cap)[0])
        _emit({"id": job["id"], "status": status, "error": why, "wall_s": 0.0})


def _official_record(line: bytes, cap: int) -> dict:
    try:
        record = json.loads(line)
    except ValueError:
        return {"status": "runtime_error", "error": "corrupt record from the test worker"}
    if not isinstance(record, dict) or record.get("status") not in (
        "ok",
        "runtime_error",
        "timeout",
        "compile_error",
    ):
        return {"status": "runtime_error", "error": "corrupt record from the test worker"}
    keep = {k: record[k] for k in ("status", "stdout", "value", "error") if k in record}
    if any(not isinstance(v, str | None) for v in keep.values()):
        return {"status": "runtime_error", "error": "corrupt record from the test worker"}
    if len(keep.get("stdout") or "") > cap or len(keep.get("value") or "") > cap:
        return {"status": "output_limit", "error": f"output over {cap} bytes"}
    return keep


def _official_exit(rc: int, err: str) -> tuple[str, str]:
    """Why a worker ended before its last record."""
    last = (err.strip().splitlines() or [""])[-1][:200]
    if rc == -signal.SIGXCPU:
        return "timeout", "CPU time limit exceeded"
    if rc == _EXIT_MEMORY or "MemoryError" in err[-2000:]:
        return "memory", "MemoryError"
    if rc < 0 and -rc in signal.valid_signals():
        return "runtime_error", f"killed by {signal.Signals(-rc).name}"
    return "runtime_error", last or f"the test worker exited (code {rc}) before its last test"


_WARMED: set[str] = set()


def _warm_official(grader: str) -> None:
    """Import once, in the harness, what the official preludes import for every program
    (ml-ssd's BASE_IMPORTS: numpy and pandas), so a forked worker finds them loaded."""
    if grader in _WARMED:
        return
    _WARMED.add(grader)
    names = ("site", "ssd.sandbox.official", "numpy") + (("pandas",) if grader == "ml_ssd" else ())
    for name in names:
        with contextlib.suppress(Exception):
            __import__(name)


def _official_worker(job: dict, root: str, write_fd: int, paths: dict) -> None:
    """The forked worker of an official job: never returns."""
    exit_code = 1
    write, dumps = os.write, json.dumps  # bound before the program can replace them
    try:
        os.setsid()
        cpu = int(job["budget_s"]) + 1
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
        for fd, path in ((0, os.devnull), (1, paths["out"]), (2, paths["err"])):
            flags = os.O_RDONLY if fd == 0 else os.O_WRONLY | os.O_CREAT | os.O_TRUNC
            new = os.open(path, flags, 0o600)
            os.dup2(new, fd)
            os.close(new)
        inputs = []
        for i in range(job["n"]):
            with open(os.path.join(root, job["id"], f"{i}.in"), encoding="utf-8") as stream:
                inputs.append(stream.read())

        def emit(record: dict) -> None:
            data = (dumps(record) + "\n").encode("utf-8", "surrogatepass")
            while data:
                data = data[write(write_fd, data) :]

        from ssd.sandbox.official import run_completion

        spec = job["official"]
        run_completion(
            spec["grader"],
            job["code"],
            inputs,
            spec["testtype"],
            spec.get("func_name"),
            job["timeout_s"],
            emit,
        )
        exit_code = 0
    except MemoryError:
        exit_code = _EXIT_MEMORY
    except BaseException:
        traceback.print_exc()
        exit_code = 1
    finally:
        with contextlib.suppress(BaseException):
            sys.stderr.flush()
        os._exit(exit_code)


def _read(path: str, cap: int) -> tuple[str, int]:
    try:
        with open(path, "rb") as stream:
            return read_capped(stream, cap)
    except FileNotFoundError:
        return "", 0


def _wait(pid: int, timeout: float, inbox: _Inbox) -> tuple[bool, bool]:
    """(worker exited within `timeout`, the host asked to stop), without reaping the worker."""
    fd = os.pidfd_open(pid)
    try:
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False, False
            ready = select.select([fd, 0], [], [], remaining)[0]
            if fd in ready:
                return True, False
            if 0 in ready and inbox.get(0) is not None:
                return False, True  # only a stop can come while a job runs
    finally:
        os.close(fd)


def _in_bwrap() -> bool:
    try:
        return Path("/proc/1/cmdline").read_bytes().startswith(b"bwrap")
    except OSError:
        return False


def _sweep(scratch: str, in_pidns: bool) -> None:
    """Kill whatever the last program left running and empty the work dirs."""
    marker = os.environ.get(MARKER_VAR)
    if marker:  # rlimits fallback: no PID namespace, find the program's processes by marker
        kill_marked(f"{MARKER_VAR}={marker}".encode(), spare=os.getpid())
    elif in_pidns:  # bwrap: everything in this PID namespace but its init (1) and the harness
        for _ in range(20):
            pids = [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit()]
            alive = [p for p in pids if p not in (1, os.getpid()) and not _zombie(p)]
            for pid in alive:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
            if not alive:
                break
    dirs = [Path(scratch)] + ([Path("/tmp")] if in_pidns else [])  # /tmp: the private tmpfs
    dirs = [d for d in dirs if d.is_dir() and not d.is_symlink()]
    for entry in (e for d in dirs for e in d.iterdir()):
        if str(entry) not in (scratch, "/tmp/job"):
            with contextlib.suppress(OSError):
                shutil.rmtree(
                    entry
                ) if entry.is_dir() and not entry.is_symlink() else entry.unlink()


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] in "ZX"
    except (OSError, IndexError):
        return True  # gone


def _case_worker(code, job: dict, in_path: str, paths: dict) -> None:
    """The forked test worker: never returns."""
    exit_code = 1
    try:
        os.setsid()  # its own group, so that the harness can kill all it starts
        cpu = int(job["timeout_s"]) + 1
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
        for fd, path in ((0, in_path), (1, paths["out"]), (2, paths["err"])):
            flags = os.O_RDONLY if fd == 0 else os.O_WRONLY | os.O_CREAT | os.O_TRUNC
            new = os.open(path, flags, 0o600)
            os.dup2(new, fd)
            os.close(new)
        exit_code = _run_solution(code, job, in_path, paths["ret"])
    finally:
        os._exit(exit_code)


def _run_solution(code, job: dict, in_path: str, ret_path: str) -> int:
    module = types.ModuleType("__main__")
    sys.modules["__main__"] = module
    try:
        exec(job["prelude"], module.__dict__)
        exec(code, module.__dict__)
        if job["mode"] == "functional":
            with open(in_path, encoding="utf-8") as stream:
                args = [json.loads(line) for line in stream.read().split("\n")]
            value = getattr(module.Solution(), job["func_name"])(*args)
            value = list(value) if isinstance(value, tuple) else value  # as LiveCodeBench
            try:
                text = json.dumps(value)
            except (TypeError, ValueError):  # not JSON: can never equal the expected output
                text = json.dumps({"unserializable": type(value).__name__})
            Path(ret_path).write_text(text, encoding="utf-8")
        _join_threads()
        if job["mode"] == "script":
            Path(ret_path).write_text(job["id"], encoding="utf-8")  # it ran to its end
    except SystemExit as exc:
        if job["mode"] != "stdin":  # a method or a check program must not end the process
            print(f"SystemExit: {exc.code}", file=sys.stderr)
            return 1
        _join_threads()  # stdin: LiveCodeBench ignores SystemExit and compares what was printed
    except MemoryError:
        return _EXIT_MEMORY
    except BaseException:
        traceback.print_exc()
        return 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
    return 0


def _join_threads() -> None:
    # os._exit skips the interpreter's join of non-daemon threads, which the common
    # `threading.Thread(target=main).start()` idiom relies on for its output.
    threading = sys.modules.get("threading")
    if threading is not None:
        for thread in threading.enumerate():
            if thread is not threading.main_thread() and not thread.daemon:
                thread.join()
