"""The official graders' per-completion test loops, ported to run inside the sandbox's worker.

`run_completion(grader, code, inputs, testtype, func_name, emit)` runs ALL of one completion's
tests in the calling (forked, sandboxed) process, as apple/ml-ssd's `run_tests_for_one_example`
(evaluation/livecodebench_utils.py:655) and LiveCodeBench's `run_test` (lcb_runner/evaluation/
testing_util.py:428) do in their own child process, and emits one record per test. The functions
below follow the official code line by line (the cited lines are at the commits pinned in
`ssd.codeeval.rules`), quirks included: the stdin mocks' patch order, `from sys import *`, the
reliability guards, the int-to-str limit. What stays on the host: the expected outputs and the
comparison (`ssd.codeeval.grading`); a record carries what the official code would compare
(captured stdout; `str(prediction)` for ml-ssd; the prediction encoded by `encode_value` for
lcb_runner). Stdlib only (staged into the sandbox); numpy is used when the program's return
value is a numpy object.

No `from __future__ import annotations` here: exec() of a string inherits the calling module's
future flags, and the official code runs answers without it (an undefined name in an annotation
is a NameError there).
"""

import ast
import copy
import faulthandler
import functools
import io
import json
import pickle
import signal
import sys
from collections.abc import Callable
from types import ModuleType
from unittest.mock import mock_open, patch

Emit = Callable[[dict], None]

# --- apple/ml-ssd evaluation/livecodebench_utils.py ------------------------------------------

ML_SSD_BASE_IMPORTS = """from itertools import accumulate, chain, combinations, count, permutations, product, groupby, islice, repeat
from copy import deepcopy
from string import ascii_lowercase
from math import floor, log2, log10, sqrt, comb, gcd, ceil, inf, isqrt
from collections import defaultdict, deque, Counter
from bisect import bisect, bisect_left, bisect_right, insort
from heapq import heappush, heappop, heapify, merge
from functools import reduce, cache, lru_cache
from random import randrange, shuffle
from operator import itemgetter, sub
from re import search as re_search  # Assuming 're' refers to a regex search
from os.path import commonprefix
from typing import List, Tuple, Dict, Set, Optional, Union, Any, Callable, Iterable, Iterator, Generator
import copy
import string
import math
import collections
import bisect
import heapq
import functools
import random
import itertools
import operator
import re
import numpy as np
import pandas as pd
from math import log, prod  # 'log' and 'prod' are functions in the math module
from collections import deque, defaultdict, Counter, OrderedDict
from itertools import accumulate, permutations, combinations, product, groupby, islice, chain, repeat, zip_longest, cycle
from functools import lru_cache, reduce, partial
from operator import iand
import sys
"""  # noqa: E501  (verbatim, livecodebench_utils.py:28-60)


class _Capturing(list):
    """livecodebench_utils.py:65 / testing_util.py:59: stdout as a list; only sys.stdout."""

    def __enter__(self):
        self._stdout = sys.stdout
        sys.stdout = self._stringio = io.StringIO()
        self._stringio.close = lambda x: 1
        return self

    def __exit__(self, *args):
        self.append(self._stringio.getvalue())
        del self._stringio
        sys.stdout = self._stdout


class _MockBuffer:
    """livecodebench_utils.py:84 / testing_util.py:94."""

    def __init__(self, inputs: str):
        self.inputs = inputs.encode("utf-8")

    def read(self, *args):
        return self.inputs

    def readline(self, *args):
        return self.inputs.split(b"\n")[0] + b"\n"


class _LcbMockStdin:
    """testing_util.py:74 MockStdinWithBuffer: no __iter__, so `for line in sys.stdin` fails."""

    def __init__(self, inputs: str):
        self.inputs = inputs
        self._stringio = io.StringIO(inputs)
        self.buffer = _MockBuffer(inputs)

    def read(self, *args):
        return self.inputs

    def readline(self, *args):
        return self._stringio.readline(*args)

    def readlines(self, *args):
        return self.inputs.split("\n")

    def __getattr__(self, name):
        return getattr(self._stringio, name)


class _MlSsdMockStdin(_LcbMockStdin):
    """livecodebench_utils.py:100: the same, plus __iter__ and __next__ (:119-125)."""

    def __iter__(self):
        return iter(self._stringio)

    def __next__(self):
        return next(self._stringio)


def clean_if_name(code: str) -> str:
    """livecodebench_utils.py:353 == testing_util.py:106: unwrap a LAST main guard."""
    try:
        astree = ast.parse(code)
        last_block = astree.body[-1]
        if isinstance(last_block, ast.If):
            condition = last_block.test
            if ast.unparse(condition).strip() == "__name__ == '__main__'":
                code = ast.unparse(astree.body[:-1]) + "\n" + ast.unparse(last_block.body)
    except Exception:  # the official `except: pass`
        pass
    return code


def make_function(code: str, prefix: str) -> str:
    """livecodebench_utils.py:376 / testing_util.py:122: imports first, the rest the body of
    `wrapped_function`, after `prefix` (ml-ssd's BASE_IMPORTS, lcb_runner's import_string)."""
    try:
        import_stmts, other = [], []
        astree = ast.parse(code)
        for stmt in astree.body:
            (import_stmts if isinstance(stmt, ast.Import | ast.ImportFrom) else other).append(stmt)
        function_ast = ast.FunctionDef(
            name="wrapped_function",
            args=ast.arguments(posonlyargs=[], args=[], kwonlyargs=[], kw_defaults=[], defaults=[]),
            body=other,
            decorator_list=[],
            lineno=-1,
        )
        return prefix + "\n" + ast.unparse(import_stmts) + "\n" + ast.unparse(function_ast)
    except Exception:
        return code


class _LazyMockOpen:
    """`mock_open(read_data=inputs)`, built on the first call: building it costs ~1.5 ms, more
    than most tests, and few answers call open(). Calling it is calling mock_open's mock (same
    handle, same reads); only code that inspects `open` without calling it could tell."""

    def __init__(self, inputs: str):
        self._inputs, self._mock = inputs, None

    def __call__(self, *args, **kwargs):
        if self._mock is None:
            self._mock = mock_open(read_data=self._inputs)
        return self._mock(*args, **kwargs)


def _call_method(method, inputs, iterable: bool):
    """livecodebench_utils.py:453 / testing_util.py:154, the decorators in the same order (the
    three sys.stdin.* patches land on the real, /dev/null stdin: they are entered first)."""
    if isinstance(inputs, list):
        inputs = "\n".join(inputs)
    inputs_line_iterator = iter(inputs.split("\n"))
    mock_stdin = (_MlSsdMockStdin if iterable else _LcbMockStdin)(inputs)

    @patch("builtins.open", _LazyMockOpen(inputs))
    @patch("sys.stdin", mock_stdin)
    @patch("sys.stdin.readline", lambda *args: next(inputs_line_iterator))
    @patch("sys.stdin.readlines", lambda *args: inputs.split("\n"))
    @patch("sys.stdin.read", lambda *args: inputs)
    def _inner_call_method(_method):
        try:
            return _method()
        except SystemExit:
            pass

    return _inner_call_method(method)


# Both reliability guards set these os functions to None (livecodebench_utils.py:222-248,
# testing_util.py:546-572).
_OS_NULLED = (
    *("kill", "system", "putenv", "remove", "removedirs", "rmdir", "fchdir", "setuid", "fork"),
    *("forkpty", "killpg", "rename", "renames", "truncate", "replace", "unlink", "fchmod"),
    *("fchown", "chmod", "chown", "chroot", "lchflags", "lchmod", "lchown", "getcwd", "chdir"),
)


def _reliability_guard(*, null_exit: bool, null_help: bool) -> None:
    """The reliability_guard both tools call before a completion (neither sets a memory limit).
    They differ only in `exit` (ml-ssd nulls it; lcb_runner's line is commented out) and `help`
    (lcb_runner nulls it): livecodebench_utils.py:198, testing_util.py:509."""
    faulthandler.disable()
    import builtins
    import os
    import shutil
    import subprocess

    if null_exit:
        builtins.exit = None
    builtins.quit = None
    os.environ["OMP_NUM_THREADS"] = "1"
    for name in _OS_NULLED:
        setattr(os, name, None)
    shutil.rmtree = shutil.move = shutil.chown = None
    subprocess.Popen = None
    if null_help:
        builtins.help = None
    for name in ("ipdb", "joblib", "resource", "psutil", "tkinter"):
        sys.modules[name] = None


def _ml_ssd_functional_input(input_str: str) -> list:
    """livecodebench_utils.py:613-646 (is_extracted=True: ml-ssd's own parse, not JSON)."""
    inputs = []
    if "=" in input_str:
        parts = input_str.split(",") if "," in input_str else [input_str]
        for part in parts:
            key, value = map(str.strip, part.split("="))
            try:
                value = int(value)
            except ValueError:
                try:
                    value = float(value)
                except ValueError:
                    value = value.strip('"')
            inputs.append(value)
    else:
        for line in input_str.split("\n"):
            line = line.strip()
            if not line:
                continue
            if line.startswith('"') and line.endswith('"'):
                inputs.append(line.strip('"'))
                continue
            if line.startswith("[") and line.endswith("]"):
                inputs.append(json.loads(line))
                continue
            try:
                inputs.append(int(line))
            except ValueError:
                try:
                    inputs.append(float(line))
                except ValueError:
                    inputs.append(line)
    return inputs


def _ml_ssd_func(completion: str, test_input: list, func_name: str) -> dict:
    """livecodebench_utils.py:502 run_test_func, up to the comparison (made on the host)."""
    namespace: dict = {}
    exec(_compiled(completion), namespace)  # raises out, as there (:519): the test fails
    is_class_based = "class Solution:" in completion or "class Solution(" in completion
    sys.stdout = io.StringIO()
    try:
        if is_class_based:
            callable_func = getattr(namespace["Solution"](), func_name)
        else:
            callable_func = namespace[func_name]
        prediction = callable_func(*test_input)
        if isinstance(prediction, tuple):
            prediction = list(prediction)
        prediction_str = str(prediction) if not isinstance(prediction, str) else prediction
        # :697 appends the prediction itself to a multiprocessing.Manager list: one that
        # cannot be pickled (a generator, a lambda) ends the child there (all tests fail).
        pickle.dumps(prediction)
        return {"status": "ok", "value": prediction_str}
    except Exception as e:
        return {"status": "runtime_error", "error": f"{type(e).__name__}: {e}"[:300]}
    finally:
        sys.stdout = sys.__stdout__


def _ml_ssd_compile(code: str):
    """livecodebench_utils.py:414 compile_code."""
    try:
        tmp_sol = ModuleType("tmp_sol", "")
        exec(_compiled(code), tmp_sol.__dict__)
        compiled_sol = tmp_sol.Solution() if "class Solution" in code else tmp_sol
        assert compiled_sol is not None
        return compiled_sol
    except Exception:
        return None


@functools.cache
def _compiled(code: str):
    """What exec(code) compiles, compiled once per program: ml-ssd execs the same source
    afresh for every test (a new module each time; the state is not shared, the bytecode is).
    A SyntaxError is raised again on every call, as there."""
    return compile(code, "<string>", "exec")


@functools.cache
def _ml_ssd_wrapped(completion: str) -> str:
    """run_test_std's rewrite (:574-577): a pure function of the code, made once per program."""
    return make_function(clean_if_name(completion), ML_SSD_BASE_IMPORTS)


def _ml_ssd_std(completion: str, test_input: str) -> dict:
    """livecodebench_utils.py:566 run_test_std, up to the comparison."""
    completion = _ml_ssd_wrapped(completion)
    compiled_sol = _ml_ssd_compile(completion)
    if compiled_sol is None:
        return {"status": "compile_error", "error": "Compilation failed"}
    method = getattr(compiled_sol, "wrapped_function", None)
    if method is None:
        return {"status": "runtime_error", "error": "Could not find wrapped_function"}
    with _Capturing() as captured_output:
        try:
            _call_method(method, test_input, iterable=True)
        except Exception as e:
            return {"status": "runtime_error", "error": f"Runtime error: {e}"[:300]}
    return {"status": "ok", "stdout": captured_output[0] if captured_output else ""}


def _run_ml_ssd(code: str, inputs: list[str], testtype: str, func_name: str | None, emit: Emit):
    """livecodebench_utils.py:655 run_tests_for_one_example (the loop; the host stops it at the
    first failure, as its `if not passed: return`)."""
    _reliability_guard(null_exit=True, null_help=False)  # livecodebench_utils.py:198
    completion = ML_SSD_BASE_IMPORTS + "\n" + code
    for test_input in inputs:
        try:
            if testtype == "functional":
                args = _ml_ssd_functional_input(test_input)
                record = _ml_ssd_func(completion, copy.deepcopy(args), func_name)
            else:
                record = _ml_ssd_std(completion, copy.deepcopy(test_input))
        except Exception as e:
            record = {"status": "runtime_error", "error": f"{type(e).__name__}: {e}"[:300]}
        emit(record)


# --- LiveCodeBench lcb_runner/evaluation/testing_util.py -------------------------------------

LCB_IMPORT_STRING = "from string import *\nfrom re import *\nfrom datetime import *\nfrom collections import *\nfrom heapq import *\nfrom bisect import *\nfrom copy import *\nfrom math import *\nfrom random import *\nfrom statistics import *\nfrom itertools import *\nfrom functools import *\nfrom operator import *\nfrom io import *\nfrom sys import *\nfrom json import *\nfrom builtins import *\nfrom typing import *\nimport string\nimport re\nimport datetime\nimport collections\nimport heapq\nimport bisect\nimport copy\nimport math\nimport random\nimport statistics\nimport itertools\nimport functools\nimport operator\nimport io\nimport sys\nimport json\nsys.setrecursionlimit(50000)\n"  # noqa: E501  (verbatim, testing_util.py:27)


class TimeoutException(Exception):  # noqa: N818  (the official name: its repr is matched)
    """testing_util.py:47."""


def _timeout_handler(signum, frame):
    print("timeout occured: alarm went off")
    raise TimeoutException


def _lcb_compile(code: str, timeout: int):
    """testing_util.py:192 compile_code (raises out: run_test's `except` makes it [-4])."""
    signal.alarm(timeout)
    try:
        tmp_sol = ModuleType("tmp_sol", "")
        exec(code, tmp_sol.__dict__)
        compiled_sol = tmp_sol.Solution() if "class Solution" in code else tmp_sol
        assert compiled_sol is not None
    finally:
        signal.alarm(0)
    return compiled_sol


def _failure(e: BaseException) -> dict:
    """testing_util.py:284/347: a TimeoutException is -3, anything else -4."""
    if "timeoutexception" in repr(e).lower():
        return {"status": "timeout", "error": "Time Limit Exceeded"}
    return {"status": "runtime_error", "error": repr(e)[:300]}


def _lcb_call_based(code: str, inputs: list[str], fn_name: str, timeout: int, emit: Emit):
    """testing_util.py:229 grade_call_based, up to `prediction == gt_out` (made on the host)."""
    compiled_sol = _lcb_compile(LCB_IMPORT_STRING + "\n\n" + code, timeout)
    method = getattr(compiled_sol, fn_name, None) if compiled_sol is not None else None
    if method is None:  # :240-243 returns None, and run_test's unpacking fails: [-4]
        emit({"status": "runtime_error", "error": f"no function {fn_name!r}"})
        return
    all_inputs = [[json.loads(line) for line in text.split("\n")] for text in inputs]
    for gt_inp in all_inputs:
        signal.alarm(timeout)
        faulthandler.enable()
        try:
            prediction = method(*gt_inp)
            signal.alarm(0)
            if isinstance(prediction, tuple):
                prediction = list(prediction)
            record = {"status": "ok", "value": encode_value(prediction)}
        except Exception as e:
            signal.alarm(0)
            record = _failure(e)
        finally:
            signal.alarm(0)
            faulthandler.disable()
        emit(record)
        if record["status"] != "ok":
            return


def _lcb_stdio(code: str, inputs: list[str], timeout: int, emit: Emit):
    """testing_util.py:310 grade_stdio, up to the line comparison (made on the host)."""
    code = make_function(clean_if_name(code), LCB_IMPORT_STRING)
    compiled_sol = _lcb_compile(code, timeout)
    method = getattr(compiled_sol, "wrapped_function", None) if compiled_sol is not None else None
    if method is None:
        emit({"status": "runtime_error", "error": "no wrapped_function"})
        return
    for gt_inp in inputs:
        signal.alarm(timeout)
        faulthandler.enable()
        record = None
        with _Capturing() as captured_output:
            try:
                _call_method(method, gt_inp, iterable=False)
                signal.alarm(0)
            except Exception as e:
                signal.alarm(0)
                record = _failure(e)
            finally:
                signal.alarm(0)
                faulthandler.disable()
        emit(record or {"status": "ok", "stdout": captured_output[0]})
        if record is not None:
            return


def _run_lcb(code: str, inputs: list[str], func_name: str | None, timeout: int, emit: Emit):
    """testing_util.py:428 run_test: the guard, then call-based iff the problem has fn_name."""
    signal.signal(signal.SIGALRM, _timeout_handler)
    _reliability_guard(null_exit=False, null_help=True)  # testing_util.py:509
    try:
        if func_name is not None:
            _lcb_call_based(code, inputs, func_name, timeout, emit)
        else:
            _lcb_stdio(code, inputs, timeout, emit)
    except Exception as e:  # :480/:500 "Error during testing": [-4]
        emit({"status": "runtime_error", "error": f"Error during testing: {e}"[:300]})
    finally:
        signal.alarm(0)


def encode_value(value) -> str:
    """A return value as JSON that `decode_value` turns back into something that is == to the
    JSON-parsed expected output exactly when `value` is (lcb_runner's `prediction == gt_out`):
    numpy scalars become Python scalars (np.int64(3) == 3), a nested tuple, a set or a dict
    with non-string keys is tagged (never equal to parsed JSON), a numpy array keeps its data."""
    try:
        if _is_plain(value):  # the common case, at C speed: JSON already means what == means
            return json.dumps(value)
        return json.dumps(_plain(value), allow_nan=True)
    except (TypeError, ValueError, RecursionError) as exc:
        return json.dumps({"__ssd_unequal__": f"{type(value).__name__}: {exc}"[:200]})


_SCALARS = frozenset((type(None), bool, int, float, str))


def _is_plain(value) -> bool:
    """Made only of None, bool, int, float, str and lists of them (exact types)."""
    if type(value) in _SCALARS:
        return True
    if type(value) is not list:
        return False
    kinds = set(map(type, value))
    if kinds <= _SCALARS:
        return True
    return kinds <= _SCALARS | {list} and all(map(_is_plain, value))


def _plain(value):
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list):
        return [_plain(x) for x in value]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {k: _plain(v) for k, v in value.items()}
    numpy = sys.modules.get("numpy")
    if numpy is not None and isinstance(value, numpy.generic):
        return _plain(value.item())
    if numpy is not None and isinstance(value, numpy.ndarray):
        return {"__ssd_ndarray__": value.tolist(), "dtype": str(value.dtype)}
    return {"__ssd_unequal__": type(value).__name__}


def run_completion(
    grader: str,
    code: str,
    inputs: list[str],
    testtype: str,
    func_name: str | None,
    timeout_s: float,
    emit: Emit,
) -> None:
    """Run one completion's tests the way `grader`'s official tool does, in this process.

    Args:
        grader: "ml_ssd" or "lcb".
        code: The extracted program (ml-ssd: after its post_process_code).
        inputs: Test inputs in grading order.
        testtype: "stdin" or "functional" (lcb_runner decides by func_name, as there).
        func_name: The functional entry point (None for stdin problems).
        timeout_s: lcb_runner's per-test signal.alarm (ml-ssd has none: the host's global
            budget is its only limit).
        emit: Called with one record per test run; may be called fewer times (the first
            failure ends lcb_runner's loop; a crash ends everything).
    """
    # Both official workers are multiprocessing children: stdin is /dev/null (and the program's
    # `from sys import *` binds that), fd 1 is not the captured stdout.
    sys.stdin = open("/dev/null")  # noqa: SIM115
    # They run a normal interpreter, with site's builtins (the sandbox starts with -S).
    import site

    site.sethelper()
    site.setcopyright()
    if grader == "ml_ssd":
        _run_ml_ssd(code, inputs, testtype, func_name, emit)
    elif grader == "lcb":
        # compute_code_generation_metrics.py:7 raises the int-to-str limit in the parent.
        sys.set_int_max_str_digits(50000)
        _run_lcb(code, inputs, func_name, int(timeout_s), emit)
    else:
        raise ValueError(f"unknown official grader {grader!r}")
