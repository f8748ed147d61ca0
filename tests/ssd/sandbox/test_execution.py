"""The sandbox's guarantees, one hostile program each, under bwrap and (where it holds) rlimits."""

from __future__ import annotations

import socket
import subprocess
import sys
import uuid
import warnings
from pathlib import Path

import pytest
from helpers.sandbox_programs import daemon_program
from helpers.support import bwrap_works, isolations, needs_bwrap, strays

from ssd.sandbox import execution
from ssd.sandbox import launch as sandbox
from ssd.sandbox.execution import isolation_info, isolation_level, run_program

REPO = Path(__file__).resolve().parents[3]


HAS_BWRAP = bwrap_works()
BOTH = isolations()


def bwrap_run(code: str, stdin: str = "", **kwargs):
    return run_program(code, stdin, isolation="bwrap", **kwargs)


def test_probe_picks_bwrap_when_it_works():
    if not HAS_BWRAP:
        pytest.skip("needs bubblewrap")
    assert isolation_level() == "bwrap"
    assert isolation_info()["level"] == "bwrap"


def test_env_var_and_argument_force_the_fallback(monkeypatch):
    monkeypatch.setenv(execution.ISOLATION_ENV, "rlimits")
    assert isolation_level() == "rlimits"
    with pytest.raises(ValueError):
        isolation_level("docker")


def test_fallback_when_bwrap_is_missing_warns_once(monkeypatch):
    real_which = execution.shutil.which
    monkeypatch.setattr(
        execution.shutil, "which", lambda n: None if n == "bwrap" else real_which(n)
    )
    execution._profile.cache_clear()
    try:
        with pytest.warns(RuntimeWarning, match="rlimits only"):
            assert isolation_level("auto") == "rlimits"
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # cached: no second warning
            assert isolation_level("auto") == "rlimits"
        with pytest.raises(RuntimeError, match="no working sandbox"):
            isolation_level("bwrap")
    finally:
        execution._profile.cache_clear()


@pytest.mark.parametrize("isolation", BOTH)
def test_ordinary_programs(isolation):
    result = run_program("print(input()[::-1])", "abc\n", isolation=isolation)
    assert (result.status, result.stdout, result.returncode) == ("ok", "cba\n", 0)
    result = run_program(
        "import sys; print('x', file=sys.stderr); sys.exit(3)", isolation=isolation
    )
    assert (result.status, result.stderr, result.returncode) == ("runtime_error", "x\n", 3)
    result = run_program("exit()", isolation=isolation)  # site's exit() exists despite -S
    assert result.status == "ok"
    result = run_program(
        "open('f.txt', 'w').write('1'); print(open('f.txt').read())", isolation=isolation
    )
    assert result.stdout == "1\n"  # the work dir is writable
    result = run_program(
        "import os, signal; os.kill(os.getpid(), signal.SIGSEGV)", isolation=isolation
    )
    assert (result.status, result.returncode) == ("runtime_error", -11)


@pytest.mark.parametrize("isolation", BOTH)
def test_runs_the_callers_interpreter(isolation):
    code = "import sys; print(sys.version); print(sys.base_prefix); print(sys.executable)"
    result = run_program(code, isolation=isolation)
    assert result.stdout.splitlines() == [sys.version, sys.base_prefix, sys.executable]
    assert run_program("import numpy", isolation=isolation).status == "ok"  # site-packages


@pytest.mark.parametrize("isolation", BOTH)
def test_infinite_loop_times_out(isolation):
    result = run_program("while True: pass", timeout_s=1.0, isolation=isolation)
    assert (result.status, result.returncode) == ("timeout", None)


@pytest.mark.parametrize("isolation", BOTH)
def test_memory_bombs(isolation):
    result = run_program("x = bytearray(10**10)", memory_mb=256, isolation=isolation)
    assert result.status == "memory"
    grow = "chunks = []\nwhile True:\n    chunks.append(bytearray(10**7))"
    assert run_program(grow, memory_mb=256, isolation=isolation).status == "memory"


@pytest.mark.parametrize("isolation", BOTH)
def test_output_flood_is_capped(isolation):
    code = "import sys\nwhile True:\n    sys.stdout.write('x' * 65536)"
    result = run_program(code, max_output_bytes=1 << 20, isolation=isolation)
    assert result.status == "output_limit"
    assert len(result.stdout) == 1 << 20
    big_file = "open('big', 'wb').write(b'x' * (2 << 20))"  # files are capped too
    assert run_program(big_file, max_output_bytes=1 << 20, isolation=isolation).status != "ok"


@pytest.mark.parametrize("isolation", BOTH)
def test_secret_in_the_callers_environment_is_invisible(isolation, monkeypatch):
    monkeypatch.setenv("SSD_TEST_SECRET", "hunter2")
    result = run_program("import os; print(dict(os.environ))", isolation=isolation)
    assert result.status == "ok" and "hunter2" not in result.stdout
    assert "SSD_TEST_SECRET" not in result.stdout


@needs_bwrap()
def test_no_process_environment_is_readable(monkeypatch):
    monkeypatch.setenv("SSD_TEST_SECRET", "hunter2")
    code = (
        "import glob\nfound = []\n"
        "for path in glob.glob('/proc/*/environ'):\n"
        "    try:\n        found.append(open(path, 'rb').read())\n    except OSError:\n        pass\n"
        "print(b'hunter2' in b''.join(found), len(glob.glob('/proc/[0-9]*')))"
    )
    result = bwrap_run(code)
    hidden, n_processes = result.stdout.split()
    assert hidden == "False"
    assert int(n_processes) <= 3  # its own PID namespace: bwrap's init and itself (+ a child)


@needs_bwrap()
def test_writing_outside_the_work_dir_fails(tmp_path):
    name = f"pwned-{uuid.uuid4().hex}"
    targets = [
        tmp_path / name,
        REPO / "tests" / name,
        Path("/var/tmp", name),
        Path("/dev/shm", name),
    ]
    try:
        for target in targets:
            result = bwrap_run(f"open({str(target)!r}, 'w').write('pwned')")
            assert result.status == "runtime_error"
            assert "Error" in result.stderr
            assert not target.exists()
    finally:
        for target in targets:
            target.unlink(missing_ok=True)


@needs_bwrap()
def test_home_directories_are_hidden():
    home = Path.home()
    needed = {
        Path(p).relative_to(home).parts[0]
        for p in sandbox._needed_paths(False)
        if p.startswith(f"{home}/")
    }
    hidden = {p.name for p in home.iterdir()} - needed  # e.g. .bashrc, .cache, tokens
    if not str(home).startswith(("/root", "/home")) or not hidden:
        pytest.skip("nothing to hide in the home directory")
    result = bwrap_run(f"import os; print(sorted(os.listdir({str(home)!r})))")
    assert result.status == "ok"
    assert set(eval(result.stdout)) <= needed


@needs_bwrap()
def test_fork_bomb_is_contained():
    token = f"bomb-{uuid.uuid4().hex}"
    bomb = f"import os\n# {token}\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n"
    # Re-exec with the token on the command line, so that survivors would be findable.
    code = f"import os, sys\nos.execv(sys.executable, [sys.executable, '-I', '-S', '-c', {bomb!r}])"
    result = bwrap_run(code, timeout_s=1.0)
    assert result.status == "timeout"
    assert strays(token) == []


@pytest.mark.parametrize("isolation", BOTH)
def test_detached_child_does_not_outlive_the_program(isolation):
    token = f"{uuid.uuid4().int % 10**6}.{uuid.uuid4().int % 10**6}"
    result = run_program(daemon_program(token), isolation=isolation)
    assert (result.status, result.stdout) == ("ok", "daemon up\n")  # it really ran...
    assert strays(token) == []  # ...and is gone once run_program returns


@needs_bwrap()
def test_killing_the_parent_or_everything_leaves_the_host_alone():
    bystander = subprocess.Popen(["sleep", "60"])  # a host process the program must not reach
    try:
        parent = (
            "import os\ntry:\n    os.kill(os.getppid(), 9)\nexcept OSError:\n    pass\nprint('on')"
        )
        assert bwrap_run(parent).stdout == "on\n"
        result = bwrap_run("import os; os.kill(-1, 9); print('on')")  # all it may signal...
        assert "ProcessLookupError" in result.stderr  # ...is nothing: Linux spares the caller
        assert bystander.poll() is None
    finally:
        bystander.kill()
        bystander.wait()


@needs_bwrap()
def test_no_network():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.setblocking(False)
    port = listener.getsockname()[1]
    try:
        code = f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=2)\nprint('connected')"
        result = bwrap_run(code, timeout_s=5.0)
        assert result.status == "runtime_error" and "connected" not in result.stdout
        with pytest.raises(BlockingIOError):
            listener.accept()  # nothing ever reached the host's port
        external = "import socket\nsocket.create_connection(('1.1.1.1', 53), timeout=2)"
        assert bwrap_run(external, timeout_s=5.0).status == "runtime_error"
    finally:
        listener.close()
