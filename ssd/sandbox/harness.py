"""The warm test harness, host side: run one program on many test inputs in a long-lived sandbox.

`runner(memory_mb, isolation).run(code, inputs, mode)` yields a `CaseResult` per input (close the
generator to stop early). `Runner` starts one `ssd.sandbox.launch.Sandbox` per process and reuses it,
talking JSON lines to the harness server inside it (`ssd.sandbox.harness_server`, which forks a worker per
test from a warm interpreter and gives each its own time budget, or, for an `official` job, one
worker per program that runs all its tests as ml-ssd's or lcb_runner's child process does; between
programs it kills their leftovers and empties the work dir). The two sides live apart because only the server is staged
into the sandbox. Expected outputs never enter the sandbox: comparing is `ssd.codeeval.grading`'s job.
"""

from __future__ import annotations

import atexit
import json
import os
import resource
import secrets
import select
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, fields
from pathlib import Path

from ssd.sandbox.execution import choose_profile
from ssd.sandbox.launch import Limits, Sandbox, read_capped


@dataclass(frozen=True)
class CaseResult:
    """One test run by `Runner.run`; status as in ssd.sandbox.execution, or "compile_error"."""

    status: str
    stdout: str = ""  # stdin mode: what the program printed
    value: str | None = None  # functional mode: the return value as JSON; script mode: a token
    error: str = ""
    wall_s: float = 0.0


_RUNNERS: dict[tuple, Runner] = {}


@atexit.register
def close_runners() -> None:
    """Close this process's runners (their sandboxes and staging dirs)."""
    for each in _RUNNERS.values():
        if each.pid == os.getpid():
            each.close()


def runner(memory_mb: int = 1024, isolation: str | None = None) -> Runner:
    """This process's Runner for these settings, started on first use and reused."""
    key = (os.getpid(), memory_mb, isolation)  # a forked child must not share its parent's
    if key not in _RUNNERS:
        _RUNNERS[key] = Runner(memory_mb, isolation)
    return _RUNNERS[key]


class Runner:
    """A long-lived sandbox running the test harness; runs one program's tests at a time.

    Between programs the harness kills everything the last one left running and empties the
    work dir. A program that kills the harness or outlasts its budget costs a fresh sandbox.
    Programs sharing a runner share its uid and tmpfs in turn, never at once; for a sandbox of
    its own per program, use `ssd.sandbox.execution.run_program`. One thread at a time: bwrap's
    --die-with-parent ties the sandbox to the thread that started it.

    Args:
        memory_mb: Address-space limit of the harness and of every test.
        isolation: As in `ssd.sandbox.execution.run_program`.
        max_output_bytes: Cap on each test's stdout, stderr and return value.
        slack_s: How long after its test's budget a result may come before the harness counts
            as hung (stopped by the program, say) and the sandbox is replaced.
    """

    def __init__(
        self,
        memory_mb: int = 1024,
        isolation: str | None = None,
        max_output_bytes: int = 16 << 20,
        slack_s: float = 5.0,
    ):
        self.memory_mb, self.isolation, self.cap = memory_mb, isolation, max_output_bytes
        self.slack_s = slack_s
        self._box: Sandbox | None = None
        self._buffer = b""
        self.pid = os.getpid()  # the process that owns the sandbox

    def _start(self) -> Sandbox:
        limits = Limits(0.0, self.memory_mb, self.cap, cpu_s=resource.RLIM_INFINITY)
        entry = "from ssd.sandbox.harness_server import _harness_main\n_harness_main('{job}')"
        box = Sandbox({}, entry, limits, choose_profile(self.isolation), import_repo=True)
        self._err = tempfile.TemporaryFile()  # noqa: SIM115 (lives as long as the sandbox)
        box.start(subprocess.PIPE, subprocess.PIPE, self._err)
        self._box, self._buffer = box, b""
        return box

    def close(self) -> None:
        """Kill the sandbox (the next run starts a fresh one)."""
        if self._box is not None:
            self._box.__exit__(None, None, None)
            self._err.close()
            self._box = None

    def run(
        self,
        code: str,
        inputs: Sequence[str],
        mode: str,
        func_name: str | None = None,
        timeout_s: float = 6.0,
        prelude: str = "",
        official: dict | None = None,
    ) -> Iterator[CaseResult]:
        """Run `code` on each input in turn, yielding a result per input; close to stop early.

        A compile error yields one "compile_error". If the harness dies or the program's whole
        budget (5 s + (timeout_s + 1) per input, LiveCodeBench's global timeout) runs out, one
        last result says so.

        Args:
            code: The program. "stdin": run as __main__ with the input on stdin; "functional":
                run it, then `Solution().<func_name>(*args)`, one JSON argument per input line;
                "script": run as __main__, passing when it runs to its end.
            inputs: Test inputs, in order.
            mode: "stdin", "functional" or "script".
            func_name: The method functional mode calls.
            timeout_s: Wall-clock budget of each test; CPU is capped at int(timeout_s) + 1 s.
            prelude: Trusted source run before the program, in its namespace.
            official: {"grader": "ml_ssd" | "lcb", "testtype", "func_name"}: run all tests in
                ONE worker the way that official tool does (`ssd.sandbox.official`), under one
                budget for the program (5 s + (timeout_s + 1) per input); `mode` and `prelude`
                are then unused.
        """
        if mode not in ("stdin", "functional", "script") or (
            mode == "functional" and not func_name
        ):
            raise ValueError(f"bad mode {mode!r} / func_name {func_name!r}")
        if self._box is None or self._box.proc.poll() is not None:  # first run, or it died
            self.close()
            self._start()
        job_id = secrets.token_hex(8)  # also tags its results, so no stale line is taken for one
        job_dir = self._write_inputs(job_id, inputs)
        job = {"id": job_id, "code": code, "mode": mode, "func_name": func_name}
        job.update(timeout_s=timeout_s, n=len(inputs), prelude=prelude, cap=self.cap)
        budget = 5.0 + (timeout_s + 1.0) * len(inputs)
        if official:
            job.update(official=official, budget_s=budget)
        deadline = time.monotonic() + budget + (self.slack_s if official else 0.0)
        names = {f.name for f in fields(CaseResult)}
        ended = False  # an official job ends after its first failing test
        try:
            failure = self._send(job, deadline)
            for _ in range(len(inputs)):
                # Each result is due soon after its test's budget (the harness kills the test
                # at timeout_s), so a harness stopped by the program costs seconds, not minutes.
                due = min(deadline, time.monotonic() + timeout_s + self.slack_s)
                if official:  # no per-test limit of the host's: the harness keeps the budget
                    due = deadline
                record = failure or self._receive(due)
                if official and isinstance(record, dict) and record.get("end") == job_id:
                    ended = True
                    break
                if isinstance(record, str) or record.get("id") != job_id:
                    failure = record if isinstance(record, str) else "protocol error"
                    break
                case = CaseResult(**{k: v for k, v in record.items() if k in names})
                yield case
                if case.status == "compile_error":
                    break
            if failure:
                tail = read_capped(self._err, 1 << 16)[0].strip().splitlines()
                status = {"deadline": "timeout", "flood": "output_limit"}.get(failure)
                why = f"sandbox {failure}" + (f": {tail[-1][:200]}" if tail else "")
                self.close()
                yield CaseResult(status or "runtime_error", error=why)
        finally:
            if self._box is not None and not ended and not self._stop(job_id):
                self.close()
            shutil.rmtree(job_dir, ignore_errors=True)

    def _write_inputs(self, job_id: str, inputs: Sequence[str]) -> Path:
        """One file per test input in the staging dir, readable by the sandbox uid."""
        job_dir = self._box.stage / job_id
        job_dir.mkdir(mode=0o755)
        for i, text in enumerate(inputs):
            (job_dir / f"{i}.in").write_text(text, encoding="utf-8", errors="surrogatepass")
            (job_dir / f"{i}.in").chmod(0o644)  # whatever the umask: the sandbox uid reads it
        return job_dir

    def _send(self, message: dict, deadline: float) -> str | None:
        data, fd = (json.dumps(message) + "\n").encode(), self._box.proc.stdin.fileno()
        try:
            while data:
                if not select.select([], [fd], [], max(0.0, deadline - time.monotonic()))[1]:
                    return "deadline"
                data = data[os.write(fd, data[: 1 << 16]) :]
        except (BrokenPipeError, OSError):
            return "exited"
        return None

    def _receive(self, deadline: float) -> dict | str:
        """The next record from the harness, or why there is none."""
        fd = self._box.proc.stdout.fileno()
        while b"\n" not in self._buffer:
            if len(self._buffer) > 8 * self.cap:
                return "flood"
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
                return "deadline"
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                return "exited"
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        try:
            record = json.loads(line)
        except ValueError:
            return "corrupt record"
        return record if isinstance(record, dict) else "corrupt record"

    def _stop(self, job_id: str) -> bool:
        """End the job (its results may be unread) and wait for the harness to be idle again."""
        deadline = time.monotonic() + 10.0
        if self._send({"stop": job_id}, deadline):
            return False
        while True:
            record = self._receive(deadline)
            if isinstance(record, str):
                return False
            if record.get("end") == job_id:
                return True
