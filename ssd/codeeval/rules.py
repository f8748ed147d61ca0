"""Grader modes: the rules that decide a verdict, one `GradingRules` per `Grader` (strict, ml_ssd, lcb).

`RULES[Grader.ml_ssd]` is what apple/ml-ssd's released LCB v6 evaluator (the paper's) does,
`RULES[Grader.lcb]` what LiveCodeBench's lcb_runner does, `RULES[Grader.strict]` the project's own.
`ssd.codeeval.grading.grade(problem, code, rules=...)` consumes them; the official behaviour is
emulated by rewriting the program and its trusted prelude here, so the sandbox stays one harness.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, replace

from ssd.codeeval.extract import extract_code
from ssd.config.choices import Grader

# LiveCodeBench's `import_string`, run before every solution by lcb_runner (and by strict).
LCB_PRELUDE = """\
from string import *
from re import *
from datetime import *
from collections import *
from heapq import *
from bisect import *
from copy import *
from math import *
from random import *
from statistics import *
from itertools import *
from functools import *
from operator import *
from io import *
from sys import *
from json import *
from builtins import *
from typing import *
import string
import re
import datetime
import collections
import heapq
import bisect
import copy
import math
import random
import statistics
import itertools
import functools
import operator
import io
import sys
import json
sys.setrecursionlimit(50000)
"""

# ml-ssd's BASE_IMPORTS (named imports only: no `from sys import *`, no recursion limit raise),
# then its reliability_guard's `builtins.exit = builtins.quit = None`: `exit()` is a TypeError.
ML_SSD_PRELUDE = """\
from itertools import accumulate, chain, combinations, count, permutations, product, groupby, islice, repeat, zip_longest, cycle
from copy import deepcopy
from string import ascii_lowercase
from math import floor, log2, log10, sqrt, comb, gcd, ceil, inf, isqrt, log, prod
from collections import defaultdict, deque, Counter, OrderedDict
from bisect import bisect, bisect_left, bisect_right, insort
from heapq import heappush, heappop, heapify, merge
from functools import reduce, cache, lru_cache, partial
from random import randrange, shuffle
from operator import itemgetter, sub, iand
from re import search as re_search
from os.path import commonprefix
from typing import List, Tuple, Dict, Set, Optional, Union, Any, Callable, Iterable, Iterator, Generator
import copy, string, math, collections, bisect, heapq, functools, random, itertools, operator, re, sys
try:
    import numpy as np
    import pandas as pd
except ImportError:  # ml-ssd's environment has both; without them it could not run at all
    pass
sys.setrecursionlimit(1000)
import builtins as _ssd_builtins
_ssd_builtins.exit = None
_ssd_builtins.quit = None
"""

# Both official graders patch sys.stdin with the test input: readline() returns the next line
# WITHOUT its newline (then StopIteration), readlines() splits on "\n", open() of anything reads
# the input. ml-ssd adds sys.stdin.buffer; lcb_runner's `from sys import *` bound `stdin` to the
# real (empty) stdin of its worker process.
_STDIN_MOCK = """\
import io as _ssd_io, sys as _ssd_sys, builtins as _ssd_b
from unittest.mock import mock_open as _ssd_mock_open
_ssd_data = _ssd_sys.stdin.read()
_ssd_lines = iter(_ssd_data.split("\\n"))
class _SsdStdin(_ssd_io.StringIO):
    def readline(self, *args): return next(_ssd_lines)
    def readlines(self, *args): return _ssd_data.split("\\n")
    def read(self, *args): return _ssd_data
_ssd_sys.stdin = _SsdStdin(_ssd_data)
_ssd_b.open = _ssd_mock_open(read_data=_ssd_data)
"""
_ML_SSD_BUFFER = """\
class _SsdBuffer:
    def read(self, *args): return _ssd_data.encode()
    def readline(self, *args): return _ssd_data.encode().split(b"\\n")[0] + b"\\n"
_ssd_sys.stdin.buffer = _SsdBuffer()
"""
_LCB_STDIN_NAME = 'stdin = _ssd_io.StringIO("")\n'

# Appended to functional programs: how the official graders turn a return value into a verdict.
_FUNCTIONAL_EPILOGUE = """
def _ssd_wrap(cls, name, how):
    import functools, json
    method = getattr(cls, name)
    @functools.wraps(method)
    def call(self, *args):
        value = method(self, *args)
        value = list(value) if isinstance(value, tuple) else value
        if how == "str":
            return value if isinstance(value, str) else str(value)
        try:
            same = json.loads(json.dumps(value)) == value
        except (TypeError, ValueError):
            same = False
        return value if same else {"__ssd_not_equal__": type(value).__name__}
    setattr(cls, name, call)
if isinstance(globals().get("Solution"), type) and hasattr(Solution, %r):
    _ssd_wrap(Solution, %r, %r)
"""

# ml-ssd's has_code(): the fence's tag may hold letters only ("```python3" opens no block).
_ML_SSD_BLOCK = re.compile(r"```(?:[a-zA-Z]*)\n(.*?)```", re.DOTALL)


@dataclass(frozen=True)
class GradingRules:
    """Everything that turns (problem, completion) into a verdict, beyond running the program.

    Attributes:
        grader: Which mode these are.
        extract: "last" / "first" (ssd.codeeval.extract), "ml_ssd" (its letters-only fence tag,
            last block, then its post_process_code), or "none" (HumanEval).
        tests: "private" or "public+private".
        prelude: Trusted source run before the program.
        official_stdin: Rewrite stdin programs as the official graders do (unwrap a final
            `if __name__ == '__main__':`, wrap the rest in a function of a module not named
            __main__) and patch sys.stdin as they do.
        stdin_buffer: With official_stdin: sys.stdin.buffer exists (ml-ssd) or not (lcb_runner).
        functional: "json" (return value and expected equal after a JSON round trip), "exact"
            (lcb_runner: Python == with the JSON-parsed expected, so a nested tuple fails) or
            "str" (ml-ssd: str(value) compared with str(expected) like stdout, Decimal fallback).
        global_timeout: One budget for all tests, (timeout_s + 1) * n + 5 s, as ml-ssd's join
            timeout (no per-test limit); else timeout_s per test (lcb_runner's signal.alarm).
    """

    grader: Grader
    extract: str
    tests: str
    prelude: str
    official_stdin: bool
    stdin_buffer: bool
    functional: str
    global_timeout: bool

    def stdin_prelude(self) -> str:
        """The prelude of a stdin problem (the stdin patch comes after the star imports)."""
        if not self.official_stdin:
            return self.prelude
        extra = _ML_SSD_BUFFER if self.stdin_buffer else _LCB_STDIN_NAME
        return self.prelude + _STDIN_MOCK + extra

    def extract_code(self, text: str) -> str | None:
        """The program graded from a completion, or None for "no code"."""
        if self.extract == "none":
            return text
        if self.extract != "ml_ssd":
            return extract_code(text, self.extract)
        blocks = _ML_SSD_BLOCK.findall(text)
        if not blocks:
            return None
        code = blocks[-1].split("</code>")[0].replace("```python", "")
        return code.split("```")[0].replace("<code>", "")

    def program(self, code: str, testtype: str, func_name: str | None) -> str:
        """The source the sandbox runs for `code` under these rules."""
        if testtype == "stdin" and self.official_stdin:
            return wrap_function(unwrap_main(code))
        if testtype == "functional" and self.functional != "json":
            return code + _FUNCTIONAL_EPILOGUE % (func_name, func_name, self.functional)
        return code


def unwrap_main(code: str) -> str:
    """lcb_runner's clean_if_name: only a LAST top-level `if __name__ == '__main__':` is unwrapped
    (its else branch dropped); a guard elsewhere then never runs (the module is not __main__)."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return code
    last = tree.body[-1] if tree.body else None
    if isinstance(last, ast.If) and ast.unparse(last.test).strip() == "__name__ == '__main__'":
        return ast.unparse(tree.body[:-1]) + "\n" + ast.unparse(last.body)
    return code


def wrap_function(code: str) -> str:
    """lcb_runner's make_function: imports stay at module level, everything else becomes the body
    of `wrapped_function` (so `global x` no longer sees its top-level x), called from a module
    named tmp_sol. Unparsable code runs as is (and fails to compile, as there)."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return code
    imports = [s for s in tree.body if isinstance(s, ast.Import | ast.ImportFrom)]
    body = [s for s in tree.body if not isinstance(s, ast.Import | ast.ImportFrom)]
    func = ast.FunctionDef(
        name="wrapped_function",
        args=ast.arguments(posonlyargs=[], args=[], kwonlyargs=[], kw_defaults=[], defaults=[]),
        body=body or [ast.Pass()],
        decorator_list=[],
        returns=None,
        lineno=1,
    )
    source = ast.unparse(ast.fix_missing_locations(ast.Module([*imports, func], [])))
    return source + "\n__name__ = 'tmp_sol'\nwrapped_function()\n"


RULES: dict[Grader, GradingRules] = {
    # The project's grader: last fence with any tag, private tests, the program run as __main__
    # on a real stdin (no rewriting: what a judge does), JSON comparison of return values,
    # timeout_s per test, exit() allowed.
    Grader.strict: GradingRules(
        Grader.strict, "last", "private", LCB_PRELUDE, False, False, "json", False
    ),
    Grader.ml_ssd: GradingRules(
        Grader.ml_ssd, "ml_ssd", "private", ML_SSD_PRELUDE, True, True, "str", True
    ),
    Grader.lcb: GradingRules(
        Grader.lcb,
        "last",
        "public+private",
        LCB_PRELUDE + "import builtins as _b\n_b.quit = None\n",
        True,
        False,
        "exact",
        False,
    ),
}


def rules_for(
    grader: Grader | str, completes_prompt: bool, tests: str | None, extract: str | None
) -> GradingRules:
    """A grader mode's rules with the config's (or command line's) `tests` and `extract`.

    A completion that continues the prompt's code (HumanEval style) is graded as is unless
    `extract` says otherwise, and keeps the mode's test selection (its one check program).
    """
    rules = RULES[Grader(str(grader))]
    if completes_prompt:
        return replace(rules, extract=str(extract or "none"))
    return replace(rules, extract=str(extract or rules.extract), tests=tests or rules.tests)
