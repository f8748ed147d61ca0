"""Grader modes: the rules that decide a verdict, one `GradingRules` per `Grader` (strict, ml_ssd, lcb).

`RULES[Grader.ml_ssd]` gives apple/ml-ssd's released LCB v6 evaluator's verdict (the paper's),
`RULES[Grader.lcb]` LiveCodeBench's lcb_runner's, both at the commits pinned below (ML_SSD_COMMIT,
LCB_COMMIT): their extraction here, their per-completion test loops in `ssd.sandbox.official`
(one sandboxed worker per completion, all its tests in it), their comparisons in
`ssd.codeeval.grading`. `RULES[Grader.strict]` is the project's own rule.
`ssd.codeeval.grading.grade(problem, code, rules=...)` consumes them.
"""

from __future__ import annotations

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

# The official code whose verdicts the ml_ssd and lcb modes give (README: grader modes).
ML_SSD_REPO = "apple-aiml-research/ml-ssd"  # formerly apple/ml-ssd
ML_SSD_COMMIT = "15c429241729df2704f926bd3e6ac19cf502f245"  # 2026-04-16
LCB_REPO = "LiveCodeBench/LiveCodeBench"
LCB_COMMIT = "28fef95ea8c9f7a547c8329f2cd3d32b92c1fa24"  # 2025-07-15
PROVENANCE = {
    Grader.ml_ssd: f"{ML_SSD_REPO}@{ML_SSD_COMMIT} evaluation/livecodebench_utils.py",
    Grader.lcb: f"{LCB_REPO}@{LCB_COMMIT} lcb_runner/evaluation/testing_util.py",
    Grader.strict: "ssd-sweeps strict",
}
# Neither official tool limits memory (ml-ssd's reliability_guard takes no limit; lcb_runner's
# run_test calls reliability_guard() with maximum_memory_bytes=None, testing_util.py:437/509),
# so a legitimate 1.5 GB answer passes there. Their modes raise the sandbox's address-space cap
# to at least this, which still stops a memory bomb.
OFFICIAL_MEMORY_MB = 4096

# ml-ssd's has_code() (evaluation/benchmark.py:44-47): the fence's tag may hold letters only
# ("```python3" or "``` python" opens no block), a newline right after it.
_ML_SSD_BLOCK = re.compile(r"```(?:[a-zA-Z]*)\n(.*?)```", re.DOTALL)


def ml_ssd_extract(text: str) -> str | None:
    """benchmark.py:131/165-181: has_code's last match, then post_process_code
    (livecodebench_utils.py:308); None where it finds no block ("Does not contain code")."""
    blocks = _ML_SSD_BLOCK.findall(text)
    if not blocks:
        return None
    code = blocks[-1].split("</code>")[0]
    code = code.replace("```python", "")
    return code.split("```")[0].replace("<code>", "")


def lcb_extract(text: str) -> str | None:
    """lcb_runner/utils/extraction_utils.py:4-17 (chat models' branch): the lines between the
    LAST TWO lines that contain ``` anywhere (so an inline ``` in prose after the block moves
    the window); "" (graded there, failing) when fewer than two: None here."""
    lines = text.split("\n")
    index = [i for i, line in enumerate(lines) if "```" in line]
    if len(index) < 2:
        return None
    return "\n".join(lines[index[-2] + 1 : index[-1]])


@dataclass(frozen=True)
class GradingRules:
    """Everything that turns (problem, completion) into a verdict, beyond running the program.

    Attributes:
        grader: Which mode these are.
        extract: "last" / "first" (ssd.codeeval.extract), "ml_ssd" (ml_ssd_extract), "lcb"
            (lcb_extract) or "none" (HumanEval).
        tests: "private" or "public+private".
        prelude: Trusted source run before the program (strict; the official modes run their
            own, inside `ssd.sandbox.official`).
        official: None (strict: a fresh worker per test, the program as __main__ on a real
            stdin, JSON comparison of return values, timeout_s per test), or "ml_ssd" / "lcb":
            that tool's per-completion loop, timeout policy and comparison.
    """

    grader: Grader
    extract: str
    tests: str
    prelude: str
    official: str | None = None

    @property
    def provenance(self) -> str:
        """Whose verdict this is: the official repository and commit, or the project's rule."""
        return PROVENANCE[self.grader]

    def extract_code(self, text: str) -> str | None:
        """The program graded from a completion, or None for "no code"."""
        if self.extract == "none":
            return text
        if self.extract == "ml_ssd":
            return ml_ssd_extract(text)
        if self.extract == "lcb":
            return lcb_extract(text) or None  # "" fails there as no code fails here
        return extract_code(text, self.extract)


RULES: dict[Grader, GradingRules] = {
    # The project's grader: last fence with any tag, private tests, the program run as __main__
    # on a real stdin (no rewriting: what a judge does), JSON comparison of return values,
    # timeout_s per test, exit() allowed.
    Grader.strict: GradingRules(Grader.strict, "last", "private", LCB_PRELUDE),
    # benchmark.py:298 grades problem["test"], the private tests only.
    Grader.ml_ssd: GradingRules(Grader.ml_ssd, "ml_ssd", "private", "", "ml_ssd"),
    # code_generation.py:106 get_evaluation_sample: public + private tests.
    Grader.lcb: GradingRules(Grader.lcb, "lcb", "public+private", "", "lcb"),
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
