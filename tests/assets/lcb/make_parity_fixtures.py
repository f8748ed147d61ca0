"""Write parity_problems.jsonl (LCB schema) and parity_samples.jsonl: the differential set that pins
`--grader ml_ssd` to apple/ml-ssd's evaluator and `--grader lcb` to LiveCodeBench's lcb_runner.

    python tests/assets/lcb/make_parity_fixtures.py \\
        --ml-ssd /work/ext/apple+ml-ssd --lcb /work/ext/LiveCodeBench+LiveCodeBench \\
        --python /work/ext/venv/bin/python      # a Python with numpy, pandas, tqdm

Each sample row: question_id, completion (raw model text), family (the edge case it probes),
official {ml_ssd, lcb}: the verdict the official tool gave when this script RAN it (through
benchmarks/bench_grading.py --run-official, at the commits in ssd/codeeval/rules.py), and
decided_by {ml_ssd, lcb}: the official line that decides that family. Without --ml-ssd/--lcb the
verdicts already in parity_samples.jsonl are kept (rows matched by question_id + completion).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

from make_fixtures import HERE, record

REPO = HERE.parents[2]
PROBLEMS, SAMPLES = HERE / "parity_problems.jsonl", HERE / "parity_samples.jsonl"
F = "```"
sys.set_int_max_str_digits(0)

# --- problems: 10 stdin, 9 functional --------------------------------------------------------


def _pow_tests():
    return [(f"{n}\n", f"{2**n}\n") for n in (10, 100, 15000)]


RECORDS = [
    record("par100_a", "Sum", "atcoder", "2025-03-01", "easy", "stdin",
           [("1 2\n", "3\n")], [("5 7\n", "12\n"), ("-3 3\n", "0\n"), ("100 200\n", "300\n")]),
    record("par101_a", "Line sum", "atcoder", "2025-03-02", "easy", "stdin",
           [("2\n1\n2\n", "3\n")], [("3\n4\n5\n6\n", "15\n"), ("1\n-7\n", "-7\n")]),
    record("par102_a", "Reverse word", "atcoder", "2025-03-03", "easy", "stdin",
           [("abc", "cba\n")], [("hello", "olleh\n"), ("xy", "yx\n")]),
    record("par103_a", "Power of two", "atcoder", "2025-03-04", "medium", "stdin",
           _pow_tests()[:1], _pow_tests()[1:]),
    record("par104_a", "Average", "atcoder", "2025-03-05", "medium", "stdin",
           [("2\n1 2\n", "1.5\n")], [("3\n1 1 1\n", "1\n"), ("4\n1 2 3 4\n", "2.5\n")]),
    record("par105_a", "Staircase", "atcoder", "2025-03-06", "easy", "stdin",
           [("2\n", "*\n**\n")], [("3\n", "*\n**\n***\n"), ("1\n", "*\n")]),
    record("par106_a", "Double", "atcoder", "2025-03-07", "medium", "stdin",
           [("2\n", "4\n")], [("21\n", "42\n")]),
    record("par107_a", "Maximum", "atcoder", "2025-03-08", "hard", "stdin",
           [("3\n1 5 2\n", "5\n")],
           [("200000\n" + " ".join(str(i % 99991) for i in range(200000)) + "\n", "99990\n")]),
    record("par108_a", "Cases", "codeforces", "2025-03-09", "medium", "stdin",
           [("2\n1 1\n2 3\n", "2\n5\n")], [("3\n0 0\n4 4\n-1 1\n", "0\n8\n0\n")]),
    record("par109_a", "Upper", "codeforces", "2025-03-10", "easy", "stdin",
           [("abc\n", "ABC\n")], [("hello world\n", "HELLO WORLD\n")]),
    record("par200", "Add to all", "leetcode", "2025-04-01", "easy", "functional",
           [("[1, 2]\n3", "[4, 5]")], [("[0]\n0", "[0]"), ("[-1, 10]\n-2", "[-3, 8]")],
           func=("addToAll", "nums: List[int], k: int) -> List[int]")),
    record("par201", "Is even", "leetcode", "2025-04-02", "easy", "functional",
           [("4", "true")], [("7", "false"), ("10", "true")], func=("isEven", "n: int) -> bool")),
    record("par202", "Count positive", "leetcode", "2025-04-03", "easy", "functional",
           [("[1, -1, 2]", "2")], [("[0, 0]", "0"), ("[5, 6, 7]", "3")],
           func=("countPos", "nums: List[int]) -> int")),
    record("par203", "Pairs", "leetcode", "2025-04-04", "medium", "functional",
           [("[1, 2]", "[[1, 2]]")], [("[3, 4, 5]", "[[3, 4], [4, 5]]")],
           func=("pairs", "nums: List[int]) -> List[List[int]]")),
    record("par204", "Halves", "leetcode", "2025-04-05", "medium", "functional",
           [("[4]", "[2]")], [("[6, 8]", "[3, 4]")], func=("halves", "nums: List[int]) -> List")),
    record("par205", "Greet", "leetcode", "2025-04-06", "easy", "functional",
           [('"bob"', '"hi bob"')], [('"ann"', '"hi ann"')], func=("greet", "name: str) -> str")),
    record("par206", "Min and max", "leetcode", "2025-04-07", "medium", "functional",
           [("[3, 1, 2]", "[1, 3]")], [("[5]", "[5, 5]"), ("[-2, 9]", "[-2, 9]")],
           func=("minMax", "nums: List[int]) -> List[int]")),
    record("par207", "Count equals", "leetcode", "2025-04-08", "medium", "functional",
           [('"a=b"', "1")], [('"x=y=z"', "2")], func=("countEq", "s: str) -> int")),
    record("par208", "Big power", "leetcode", "2025-04-09", "hard", "functional",
           [("10", "1024")], [("15000", str(2**15000))], func=("bigPow", "n: int) -> int")),
]  # fmt: skip


# --- completions -----------------------------------------------------------------------------


def fenced(code: str, tag: str = "python") -> str:
    return f"Here is the solution.\n{F}{tag}\n{code}\n{F}\n"


SUM = "a, b = map(int, input().split())\nprint(a + b)"
LINES = "n = int(input())\nprint(sum(int(input()) for _ in range(n)))"
REV = "s = input()\nprint(s[::-1])"
POW = "n = int(input())\nprint(2 ** n)"
AVG = "n = int(input())\nxs = list(map(int, input().split()))\nprint(sum(xs) / n)"
STAIRS = "n = int(input())\nfor i in range(1, n + 1):\n    print('*' * i)"
DOUBLE = "print(2 * int(input()))"
MAX = "input()\nprint(max(map(int, input().split())))"
CASES = (
    "t = int(input())\nfor _ in range(t):\n    a, b = map(int, input().split())\n    print(a + b)"
)
UPPER = "print(input().upper())"


def method(name: str, args: str, body: str, head: str = "class Solution:") -> str:
    return fenced(f"{head}\n    def {name}(self, {args}):\n        {body}")


# (question_id, family, completion)
CASES_TABLE: list[tuple[str, str, str]] = [
    # plain answers on every problem: correct and wrong
    *[(q, "plain_correct", fenced(c)) for q, c in [
        ("par100_a", SUM), ("par101_a", LINES), ("par102_a", REV), ("par103_a", POW),
        ("par104_a", AVG), ("par105_a", STAIRS), ("par106_a", DOUBLE), ("par107_a", MAX),
        ("par108_a", CASES), ("par109_a", UPPER)]],
    *[(q, "plain_wrong", fenced(c)) for q, c in [
        ("par100_a", "a, b = map(int, input().split())\nprint(a - b)"),
        ("par101_a", "n = int(input())\nprint(n)"), ("par102_a", "print(input())"),
        ("par104_a", "n = int(input())\nprint(n)"), ("par105_a", "print('*')"),
        ("par106_a", "print(int(input()) + 2)"), ("par107_a", "input()\nprint(0)"),
        ("par108_a", "print(0)"), ("par109_a", "print(input().lower())")]],
    ("par100_a", "no_code", "The answer is a + b; read both numbers and print their sum."),
    ("par100_a", "runtime_error", fenced("print(1 // 0)")),
    ("par100_a", "wrong_on_public_only",
     fenced("a, b = map(int, input().split())\nprint(4 if (a, b) == (1, 2) else a + b)")),
    # fence variants
    ("par100_a", "fence_space_tag", fenced(SUM, " python")),
    ("par106_a", "fence_space_tag", fenced(DOUBLE, " python")),
    ("par100_a", "fence_python3", fenced(SUM, "python3")),
    ("par100_a", "fence_py", fenced(SUM, "py")),
    ("par100_a", "fence_no_tag", fenced(SUM, "")),
    ("par100_a", "fence_crlf", fenced(SUM).replace("\n", "\r\n")),
    ("par106_a", "fence_crlf", fenced(DOUBLE).replace("\n", "\r\n")),
    ("par100_a", "fence_complete_then_truncated",
     fenced(SUM) + "\nOr shorter:\n" + F + "python\nprint(sum(map(int, input().split())))\n"),
    ("par106_a", "fence_complete_then_truncated", fenced(DOUBLE) + "\nAlso:\n" + F + "python\nx ="),
    ("par100_a", "fence_inline_after", fenced(SUM) + "\nWrap code in " + F + " fences as above."),
    ("par106_a", "fence_inline_after", fenced(DOUBLE) + "Note: the " + F + " closes the block.\n"),
    ("par100_a", "fence_two_blocks_last_wrong",
     fenced(SUM) + "\nA first try:\n" + fenced("print(0)")),
    ("par100_a", "fence_two_blocks_last_right", fenced("print(0)") + "\nFixed:\n" + fenced(SUM)),
    ("par100_a", "fence_code_tags", f"<code>\n{SUM}\n</code>\n{F}python\n{SUM}\n{F}\n"),
    # __future__ at the top
    ("par100_a", "future_import", fenced("from __future__ import annotations\n" + SUM)),
    ("par200", "future_import", method(
        "addToAll", "nums, k", "return [x + k for x in nums]",
        head="from __future__ import annotations\nclass Solution:")),
    # stdin reading styles
    ("par100_a", "stdin_buffer",
     fenced("import sys\na, b = map(int, sys.stdin.buffer.read().split())\nprint(a + b)")),
    ("par101_a", "stdin_buffer",
     fenced("import sys\nd = sys.stdin.buffer.read().split()\nprint(sum(map(int, d[1:])))")),
    ("par100_a", "stdin_buffer_readline",
     fenced("import sys\na, b = map(int, sys.stdin.buffer.readline().split())\nprint(a + b)")),
    ("par101_a", "for_line_in_stdin",
     fenced("import sys\nxs = [int(l) for l in sys.stdin]\nprint(sum(xs[1:]))")),
    ("par100_a", "for_line_in_stdin",
     fenced("import sys\nfor line in sys.stdin:\n    a, b = map(int, line.split())\n    print(a + b)")),
    ("par102_a", "readline_slice_last_line",
     fenced("import sys\ns = sys.stdin.readline()[:-1]\nprint(s[::-1])")),
    ("par109_a", "readline_slice_last_line",
     fenced("import sys\ns = sys.stdin.readline()[:-1]\nprint(s.upper())")),
    ("par102_a", "readline_rstrip", fenced("import sys\nprint(sys.stdin.readline().rstrip()[::-1])")),
    ("par100_a", "readline", fenced("import sys\na, b = map(int, sys.stdin.readline().split())\nprint(a + b)")),
    ("par101_a", "readline_loop",
     fenced("import sys\nn = int(sys.stdin.readline())\nprint(sum(int(sys.stdin.readline()) for _ in range(n)))")),
    ("par101_a", "readlines", fenced("import sys\nls = sys.stdin.readlines()\nprint(sum(int(x) for x in ls[1:] if x.strip()))")),
    ("par100_a", "stdin_read", fenced("import sys\nprint(sum(map(int, sys.stdin.read().split())))")),
    ("par100_a", "open_0", fenced("print(sum(map(int, open(0).read().split())))")),
    ("par100_a", "from_sys_import_stdin", fenced("from sys import stdin\na, b = map(int, stdin.readline().split())\nprint(a + b)")),
    ("par100_a", "input_alias", fenced("import sys\ninput = sys.stdin.readline\na, b = map(int, input().split())\nprint(a + b)")),
    ("par107_a", "input_alias", fenced("import sys\ninput = sys.stdin.readline\ninput()\nprint(max(map(int, input().split())))")),
    ("par108_a", "stdin_read_split", fenced("import sys\nd = sys.stdin.read().split()\nt = int(d[0])\nfor i in range(t):\n    print(int(d[1 + 2 * i]) + int(d[2 + 2 * i]))")),
    # output styles
    ("par100_a", "os_write", fenced("import os\na, b = map(int, input().split())\nos.write(1, f'{a + b}\\n'.encode())")),
    ("par106_a", "os_write", fenced("import os\nos.write(1, str(2 * int(input())).encode())")),
    ("par100_a", "sys_stdout_write", fenced("import sys\na, b = map(int, input().split())\nsys.stdout.write(str(a + b) + '\\n')")),
    ("par100_a", "print_file_stdout", fenced("import sys\na, b = map(int, input().split())\nprint(a + b, file=sys.stdout)")),
    ("par100_a", "print_sys_dunder_stdout", fenced("import sys\na, b = map(int, input().split())\nprint(a + b, file=sys.__stdout__)")),
    ("par105_a", "print_join", fenced("n = int(input())\nprint('\\n'.join('*' * i for i in range(1, n + 1)))")),
    ("par105_a", "trailing_spaces", fenced("n = int(input())\nfor i in range(1, n + 1):\n    print('*' * i + '  ')")),
    ("par104_a", "decimal_float_format", fenced(AVG.replace("print(sum(xs) / n)", "print(f'{sum(xs) / n:.3f}')"))),
    ("par104_a", "float_tolerance_needed", fenced(AVG.replace("print(sum(xs) / n)", "print(sum(xs) / n + 1e-9)"))),
    # exiting
    ("par100_a", "exit_after_print", fenced(SUM + "\nexit()")),
    ("par100_a", "quit_after_print", fenced(SUM + "\nquit()")),
    ("par106_a", "quit_after_print", fenced(DOUBLE + "\nquit()")),
    ("par100_a", "sys_exit_after_print", fenced("import sys\n" + SUM + "\nsys.exit(0)")),
    ("par100_a", "exit_in_main", fenced("def main():\n    a, b = map(int, input().split())\n    print(a + b)\n    exit(0)\nmain()")),
    ("par100_a", "raise_systemexit", fenced(SUM + "\nraise SystemExit")),
    # program structure
    ("par100_a", "main_guard_last", fenced("def main():\n    " + SUM.replace("\n", "\n    ") + "\n\nif __name__ == '__main__':\n    main()")),
    ("par100_a", "main_guard_double_quotes", fenced("def main():\n    " + SUM.replace("\n", "\n    ") + '\n\nif __name__ == "__main__":\n    main()')),
    ("par100_a", "main_guard_not_last", fenced("def main():\n    " + SUM.replace("\n", "\n    ") + "\n\nif __name__ == '__main__':\n    main()\nDONE = True")),
    ("par100_a", "main_guard_with_else", fenced("def main():\n    " + SUM.replace("\n", "\n    ") + "\n\nif __name__ == '__main__':\n    main()\nelse:\n    print('imported')")),
    ("par100_a", "global_at_top", fenced("t = 0\ndef add(x):\n    global t\n    t += x\nfor x in map(int, input().split()):\n    add(x)\nprint(t)")),
    ("par101_a", "global_at_top", fenced("total = 0\ndef read():\n    global total\n    n = int(input())\n    for _ in range(n):\n        total += int(input())\nread()\nprint(total)")),
    ("par100_a", "nonlocal_style_closure", fenced("def solve():\n    t = [0]\n    def add(x):\n        t[0] += x\n    for x in map(int, input().split()):\n        add(x)\n    print(t[0])\nsolve()")),
    ("par100_a", "threading_main", fenced("import threading\ndef main():\n    " + SUM.replace("\n", "\n    ") + "\nthreading.Thread(target=main).start()")),
    ("par100_a", "class_at_top", fenced("class Adder:\n    def go(self):\n        " + SUM.replace("\n", "\n        ") + "\nAdder().go()")),
    ("par100_a", "lambda_default_global", fenced("K = 0\nf = lambda a, b: a + b + K\na, b = map(int, input().split())\nprint(f(a, b))")),
    ("par100_a", "comprehension_uses_top_name", fenced("a, b = map(int, input().split())\nxs = [a, b]\nprint(sum([x for x in xs]))")),
    # names the preludes bring
    ("par100_a", "numpy_without_import", fenced("a, b = map(int, input().split())\nprint(int(np.int64(a) + b))")),
    ("par100_a", "lcm_without_import", fenced("a, b = map(int, input().split())\nprint(a + b if lcm(1, 1) == 1 else 0)")),
    ("par100_a", "counter_without_import", fenced("a, b = map(int, input().split())\nprint(sum(Counter([a, b]).elements()))")),
    ("par100_a", "stdin_name_from_star_import", fenced("a, b = map(int, stdin.readline().split())\nprint(a + b)")),
    ("par100_a", "deque_without_import", fenced("a, b = map(int, input().split())\nprint(sum(deque([a, b])))")),
    # recursion
    ("par106_a", "deep_recursion_default_limit", fenced("def f(n):\n    return 0 if n == 0 else 2 + f(n - 1)\nprint(f(int(input())) if int('1') else 0)")),
    ("par106_a", "deep_recursion_3000", fenced("def f(n):\n    return 0 if n == 0 else 1 + f(n - 1)\nn = int(input())\nprint(2 * n + f(3000) - 3000)")),
    ("par106_a", "deep_recursion_own_limit", fenced("import sys\nsys.setrecursionlimit(10000)\ndef f(n):\n    return 0 if n == 0 else 1 + f(n - 1)\nn = int(input())\nprint(2 * n + f(3000) - 3000)")),
    # big numbers
    ("par103_a", "int_over_4300_digits", fenced(POW)),
    ("par103_a", "int_over_4300_digits_str", fenced("n = int(input())\nprint(str(2 ** n))")),
    ("par103_a", "int_digits_raised", fenced("import sys\nsys.set_int_max_str_digits(0)\nn = int(input())\nprint(2 ** n)")),
    ("par103_a", "int_over_4300_digits_write", fenced("import sys\nsys.stdout.write(str(2 ** int(input())) + '\\n')")),
    # memory and time
    ("par106_a", "alloc_1_5_gb", fenced("buf = bytearray(1_500_000_000)\nbuf[-1] = 1\nprint(2 * int(input()) + buf[-1] - 1)")),
    ("par106_a", "alloc_600_mb", fenced("buf = bytearray(600_000_000)\nprint(2 * int(input()))")),
    ("par106_a", "infinite_loop", fenced("while True:\n    pass")),
    ("par107_a", "slow_quadratic_ok", fenced("input()\nxs = list(map(int, input().split()))\nm = xs[0]\nfor x in xs:\n    if x > m:\n        m = x\nprint(m)")),
    # hostile-ish programs the guards stop
    ("par100_a", "os_getcwd", fenced("import os\nos.getcwd()\n" + SUM)),
    ("par100_a", "subprocess_popen", fenced("import subprocess\nsubprocess.run(['true'])\n" + SUM)),
    ("par100_a", "os_remove_missing", fenced("import os\ntry:\n    os.remove('nope')\nexcept Exception:\n    pass\n" + SUM)),
    ("par100_a", "import_resource", fenced("import resource\n" + SUM)),
    ("par100_a", "help_builtin", fenced("x = help\n" + SUM)),
    ("par100_a", "syntax_error", fenced("a, b = map(int, input().split()\nprint(a + b)")),
    ("par100_a", "indentation_error", fenced("a, b = map(int, input().split())\n  print(a + b)")),
    ("par100_a", "empty_block", f"Here:\n{F}python\n{F}\n"),
    ("par100_a", "tab_indent", fenced("def main():\n\ta, b = map(int, input().split())\n\tprint(a + b)\nmain()")),
    ("par100_a", "unicode_output", fenced("a, b = map(int, input().split())\nprint(a + b)  # naïve ✓")),
    ("par109_a", "unicode_input_ok", fenced("import sys\nprint(sys.stdin.read().strip().upper())")),
    # functional: shapes of the answer
    *[(q, "plain_correct", method(n, a, b)) for q, n, a, b in [
        ("par200", "addToAll", "nums, k", "return [x + k for x in nums]"),
        ("par201", "isEven", "n", "return n % 2 == 0"),
        ("par202", "countPos", "nums", "return sum(1 for x in nums if x > 0)"),
        ("par203", "pairs", "nums", "return [[nums[i], nums[i + 1]] for i in range(len(nums) - 1)]"),
        ("par204", "halves", "nums", "return [x // 2 for x in nums]"),
        ("par205", "greet", "name", "return 'hi ' + name"),
        ("par206", "minMax", "nums", "return [min(nums), max(nums)]"),
        ("par207", "countEq", "s", "return s.count('=')"),
        ("par208", "bigPow", "n", "return 2 ** n")]],
    *[(q, "plain_wrong", method(n, a, b)) for q, n, a, b in [
        ("par200", "addToAll", "nums, k", "return nums"),
        ("par201", "isEven", "n", "return True"),
        ("par202", "countPos", "nums", "return len(nums)"),
        ("par203", "pairs", "nums", "return [nums]"),
        ("par204", "halves", "nums", "return nums"),
        ("par205", "greet", "name", "return name"),
        ("par206", "minMax", "nums", "return [max(nums), min(nums)]"),
        ("par207", "countEq", "s", "return 0"),
        ("par208", "bigPow", "n", "return n")]],
    ("par200", "top_level_function", fenced("def addToAll(nums, k):\n    return [x + k for x in nums]")),
    ("par201", "top_level_function", fenced("def isEven(n):\n    return n % 2 == 0")),
    ("par202", "top_level_function", fenced("def countPos(nums):\n    return sum(x > 0 for x in nums)")),
    ("par205", "top_level_function", fenced("def greet(name):\n    return 'hi ' + name")),
    ("par200", "staticmethod", fenced("class Solution:\n    @staticmethod\n    def addToAll(nums, k):\n        return [x + k for x in nums]")),
    ("par201", "staticmethod", fenced("class Solution:\n    @staticmethod\n    def isEven(n):\n        return n % 2 == 0")),
    ("par202", "classmethod", fenced("class Solution:\n    @classmethod\n    def countPos(cls, nums):\n        return sum(x > 0 for x in nums)")),
    ("par200", "class_space_before_colon", fenced("class Solution :\n    def addToAll(self, nums, k):\n        return [x + k for x in nums]")),
    ("par200", "class_with_base", fenced("class Solution(object):\n    def addToAll(self, nums, k):\n        return [x + k for x in nums]")),
    ("par200", "solution_in_comment_only", fenced("# class Solution: not needed\ndef addToAll(nums, k):\n    return [x + k for x in nums]")),
    ("par200", "wrong_method_name", method("add_to_all", "nums, k", "return [x + k for x in nums]")),
    ("par200", "helper_outside_class", fenced("def helper(x, k):\n    return x + k\nclass Solution:\n    def addToAll(self, nums, k):\n        return [helper(x, k) for x in nums]")),
    ("par202", "numpy_int", method("countPos", "nums", "import numpy\n        return numpy.int64(sum(x > 0 for x in nums))")),
    ("par201", "numpy_bool", method("isEven", "n", "import numpy\n        return numpy.bool_(n % 2 == 0)")),
    ("par200", "numpy_int_list", method("addToAll", "nums, k", "import numpy\n        return [numpy.int64(x + k) for x in nums]")),
    ("par200", "numpy_array", method("addToAll", "nums, k", "import numpy\n        return numpy.array(nums) + k")),
    ("par200", "numpy_tolist", method("addToAll", "nums, k", "import numpy\n        return (numpy.array(nums, dtype=numpy.int64) + k).tolist()")),
    ("par202", "numpy_sum_result", method("countPos", "nums", "import numpy\n        return numpy.sum(numpy.array(nums) > 0)")),
    ("par206", "numpy_min_max_list", method("minMax", "nums", "import numpy\n        a = numpy.array(nums)\n        return [a.min(), a.max()]")),
    ("par206", "tuple_return", method("minMax", "nums", "return min(nums), max(nums)")),
    ("par203", "nested_tuples", method("pairs", "nums", "return [(nums[i], nums[i + 1]) for i in range(len(nums) - 1)]")),
    ("par203", "tuple_of_lists", method("pairs", "nums", "return tuple([nums[i], nums[i + 1]] for i in range(len(nums) - 1))")),
    ("par204", "floats_for_ints", method("halves", "nums", "return [x / 2 for x in nums]")),
    ("par202", "float_for_int", method("countPos", "nums", "return float(sum(x > 0 for x in nums))")),
    ("par201", "int_for_bool", method("isEven", "n", "return int(n % 2 == 0)")),
    ("par201", "string_for_bool", method("isEven", "n", "return 'true' if n % 2 == 0 else 'false'")),
    ("par202", "string_for_int", method("countPos", "nums", "return str(sum(x > 0 for x in nums))")),
    ("par206", "set_return", method("minMax", "nums", "return {min(nums), max(nums)}")),
    ("par205", "quoted_string_return", method("greet", "name", "return '\"hi ' + name + '\"'")),
    ("par207", "input_with_equals", method("countEq", "s", "return len(s.split('=')) - 1")),
    ("par208", "int_over_4300_digits", method("bigPow", "n", "return pow(2, n)")),
    ("par208", "int_over_4300_digits_str", method("bigPow", "n", "return str(2 ** n)")),
    ("par200", "instance_state_across_tests", fenced("class Solution:\n    def __init__(self):\n        self.calls = 0\n    def addToAll(self, nums, k):\n        self.calls += 1\n        return [x + k for x in nums] if self.calls == 1 else []")),
    ("par200", "module_state_across_tests", fenced("SEEN = []\nclass Solution:\n    def addToAll(self, nums, k):\n        SEEN.append(1)\n        return [x + k for x in nums] if len(SEEN) == 1 else []")),
    ("par200", "mutates_input", method("addToAll", "nums, k", "for i in range(len(nums)):\n            nums[i] += k\n        return nums")),
    ("par200", "prints_inside", method("addToAll", "nums, k", "print('debug', nums)\n        return [x + k for x in nums]")),
    ("par200", "exit_inside_method", method("addToAll", "nums, k", "exit()")),
    ("par200", "sys_exit_inside_method", method("addToAll", "nums, k", "import sys\n        sys.exit(0)")),
    ("par200", "raises_inside", method("addToAll", "nums, k", "raise ValueError('no')")),
    ("par200", "top_level_raises", fenced("raise RuntimeError('at import')\nclass Solution:\n    def addToAll(self, nums, k):\n        return [x + k for x in nums]")),
    ("par200", "typing_names", method("addToAll", "nums: List[int], k: int", "return [x + k for x in nums]")),
    ("par200", "lru_cache_member", fenced("from functools import lru_cache\nclass Solution:\n    def addToAll(self, nums, k):\n        @lru_cache(None)\n        def g(x):\n            return x + k\n        return [g(x) for x in nums]")),
    ("par201", "functional_infinite_loop", method("isEven", "n", "while True:\n            pass")),
    ("par200", "functional_syntax_error", method("addToAll", "nums, k", "return [x + k for x in nums")),
    ("par200", "functional_no_code", "Use a list comprehension adding k to every element."),
    ("par200", "functional_fence_python3", method("addToAll", "nums, k", "return [x + k for x in nums]").replace(F + "python\n", F + "python3\n")),
    ("par200", "functional_crlf", method("addToAll", "nums, k", "return [x + k for x in nums]").replace("\n", "\r\n")),
    ("par200", "functional_main_guard", fenced("class Solution:\n    def addToAll(self, nums, k):\n        return [x + k for x in nums]\n\nif __name__ == '__main__':\n    print(Solution().addToAll([1], 1))")),
    ("par200", "undefined_annotation", method("addToAll", "nums, k", "return [x + k for x in nums]").replace("def addToAll(self, nums, k):", "def addToAll(self, nums, k) -> Result:")),
    ("par100_a", "undefined_annotation", fenced("def solve(line: Line) -> Answer:\n    a, b = map(int, line.split())\n    return a + b\nprint(solve(input()))")),
    ("par100_a", "open_0_with", fenced("with open(0) as f:\n    a, b = map(int, f.read().split())\nprint(a + b)")),
    ("par101_a", "open_0_readlines", fenced("ls = open(0).readlines()\nprint(sum(int(x) for x in ls[1:]))")),
    ("par101_a", "open_0_iterate", fenced("ls = [l for l in open(0)]\nprint(sum(int(x) for x in ls[1:]))")),
    ("par205", "returns_none", method("greet", "name", "print('hi ' + name)")),
    ("par203", "generator_return", method("pairs", "nums", "return ([nums[i], nums[i + 1]] for i in range(len(nums) - 1))")),
    ("par206", "dict_return", method("minMax", "nums", "return {'min': min(nums), 'max': max(nums)}")),
]  # fmt: skip


# The official code that decides each family (file:line at the pinned commits). ml-ssd =
# evaluation/{benchmark,livecodebench_utils}.py; lcb = lcb_runner/{utils/extraction_utils,
# evaluation/testing_util,evaluation/compute_code_generation_metrics}.py.
_MS_STD = "livecodebench_utils.py:566-602 run_test_std (clean_if_name, make_function, call_method in Capturing, compare_strings_with_decimal_fallback)"
_LCB_STD = "testing_util.py:310-425 grade_stdio (clean_if_name, make_function, call_method in Capturing, line/Decimal compare)"
_MS_FN = "livecodebench_utils.py:502-563 run_test_func (exec, Solution() or namespace[func_name], str(prediction) vs str(expected))"
_LCB_FN = "testing_util.py:229-307 grade_call_based (compile once, one Solution(), prediction == json.loads(output))"
DECIDED_BY = {
    "fence": (
        "benchmark.py:44-47 has_code r'```(?:[a-zA-Z]*)\\n(.*?)```' + livecodebench_utils.py:308 post_process_code",
        "extraction_utils.py:13-17 lines containing ``` (last two)",
    ),
    "no_code": (
        "benchmark.py:167-170 no has_code match: 'Does not contain code component.'",
        "extraction_utils.py:14-15 fewer than two ``` lines: '' graded, testing_util.py:480-504 [-4]",
    ),
    "public": (
        "livecodebench_utils.py:298 map_to_example: test = private tests only",
        "code_generation.py:106-121 get_evaluation_sample: public + private",
    ),
    "future": (
        "livecodebench_utils.py:659 BASE_IMPORTS + completion: __future__ no longer first (SyntaxError)",
        "testing_util.py:142-148/234 import_string before the program's imports (SyntaxError)",
    ),
    "buffer": (
        "livecodebench_utils.py:84-108 MockStdinWithBuffer.buffer",
        "testing_util.py:74-103 MockStdinWithBuffer.buffer",
    ),
    "iter": (
        "livecodebench_utils.py:119-125 __iter__ over the StringIO",
        "testing_util.py:74-91 no __iter__: TypeError",
    ),
    "readline": (
        "livecodebench_utils.py:113-114 + :468-472 patches enter read/readlines/readline on the real stdin first; the mock's readline keeps the newline (StringIO)",
        "testing_util.py:83-84 + :167-171 the same patch order",
    ),
    "open": (
        "livecodebench_utils.py:468 builtins.open patched with mock_open",
        "testing_util.py:27 import_string `from builtins import *` binds the real open (stdin /dev/null)",
    ),
    "star_stdin": (
        "livecodebench_utils.py:28-60 BASE_IMPORTS has no `from sys import *`: NameError",
        "testing_util.py:27 `from sys import *` binds stdin to the child's /dev/null stdin",
    ),
    "os_write": (
        "livecodebench_utils.py:65-81 Capturing replaces sys.stdout only: os.write(1) is lost",
        "testing_util.py:59-70 Capturing replaces sys.stdout only",
    ),
    "exit": (
        "livecodebench_utils.py:215-216 builtins.exit = builtins.quit = None (TypeError), :476 SystemExit swallowed",
        "testing_util.py:539-540 only quit = None; :176 SystemExit swallowed",
    ),
    "structure": (
        "livecodebench_utils.py:353-411 clean_if_name (last guard only) + make_function (body in wrapped_function)",
        "testing_util.py:106-151 clean_if_name + make_function",
    ),
    "prelude": (
        "livecodebench_utils.py:28-60 BASE_IMPORTS (named imports, numpy as np, pandas as pd)",
        "testing_util.py:27 import_string (star imports, recursion limit 50000)",
    ),
    "recursion": (
        "livecodebench_utils.py:28-60 no recursion limit raised (1000)",
        "testing_util.py:27 sys.setrecursionlimit(50000)",
    ),
    "bigint": (
        "no set_int_max_str_digits: Python's 4300-digit limit (ValueError in print/str)",
        "compute_code_generation_metrics.py:7 sys.set_int_max_str_digits(50000)",
    ),
    "memory": (
        "livecodebench_utils.py:198-266 reliability_guard sets no memory limit",
        "testing_util.py:437/509 reliability_guard(maximum_memory_bytes=None): no limit",
    ),
    "time": (
        "livecodebench_utils.py:702-715 one join timeout (timeout+1)*n+5, no per-test limit",
        "testing_util.py:254/334 signal.alarm(6) per test; compute_code_generation_metrics.py:42 global (6+1)*n+5",
    ),
    "guard": (
        "livecodebench_utils.py:218-266 os.*/subprocess.Popen/resource set to None",
        "testing_util.py:542-592 the same, plus help = None",
    ),
    "compile": (
        "livecodebench_utils.py:414-438 compile_code returns None: 'Compilation failed'",
        "testing_util.py:192-211 compile_code raises: run_test [-4]",
    ),
    "std": (_MS_STD, _LCB_STD),
    "fn": (_MS_FN, _LCB_FN),
    "fn_shape": (
        "livecodebench_utils.py:522-533 class-based iff 'class Solution:' or 'class Solution(' in the code, else namespace[func_name]",
        "testing_util.py:197-205 'class Solution' in code: Solution(), else the module; :240 getattr",
    ),
    "fn_value": (
        "livecodebench_utils.py:545-553 tuple -> list, str(prediction) vs str(json.loads(output)), Decimal fallback",
        "testing_util.py:265-268 tuple -> list, prediction == json.loads(output); compute_code_generation_metrics.py:73-80 ndarray.item(0)",
    ),
    "fn_input": (
        "livecodebench_utils.py:613-646 its own input parse: '=' splits the input",
        "testing_util.py:245-247 json.loads per input line",
    ),
    "fn_state": (
        "livecodebench_utils.py:519 exec(completion) afresh for every test",
        "testing_util.py:235/259 one compiled module and one Solution() for all tests",
    ),
    "annotations": (
        "livecodebench_utils.py:424/519 exec of the source, no `from __future__ import annotations`: annotations are evaluated at def time",
        "testing_util.py:196 exec(code, tmp_sol.__dict__), the same",
    ),
    "fn_exit": (
        "livecodebench_utils.py:215 exit = None (TypeError caught at :558); SystemExit escapes :691 and ends the child",
        "testing_util.py:282 only Exception caught: SystemExit ends the child, compute_code_generation_metrics.py:47-50 all -1",
    ),
}


def _topic(family: str, qid: str) -> str:
    functional = qid.startswith("par2")
    table = {
        "fence": "fence", "no_code": "no_code", "functional_no_code": "no_code",
        "empty_block": "fence", "wrong_on_public_only": "public", "future_import": "future",
        "stdin_buffer": "buffer", "stdin_buffer_readline": "buffer", "for_line_in_stdin": "iter",
        "readline": "readline", "readline_loop": "readline", "readline_slice_last_line": "readline",
        "readline_rstrip": "readline", "input_alias": "readline", "open_0": "open",
        "from_sys_import_stdin": "readline", "stdin_name_from_star_import": "star_stdin",
        "os_write": "os_write", "print_sys_dunder_stdout": "os_write",
        "numpy_without_import": "prelude", "lcm_without_import": "prelude",
        "counter_without_import": "prelude", "deque_without_import": "prelude",
        "alloc_1_5_gb": "memory", "alloc_600_mb": "memory", "infinite_loop": "time",
        "functional_infinite_loop": "time", "slow_quadratic_ok": "time",
        "os_getcwd": "guard", "subprocess_popen": "guard", "os_remove_missing": "guard",
        "import_resource": "guard", "help_builtin": "guard", "syntax_error": "compile",
        "indentation_error": "compile", "functional_syntax_error": "compile",
        "top_level_raises": "compile", "top_level_function": "fn_shape", "staticmethod": "fn_shape",
        "classmethod": "fn_shape", "class_space_before_colon": "fn_shape",
        "class_with_base": "fn_shape", "solution_in_comment_only": "fn_shape",
        "wrong_method_name": "fn_shape", "input_with_equals": "fn_input",
        "instance_state_across_tests": "fn_state", "module_state_across_tests": "fn_state",
        "exit_inside_method": "fn_exit", "sys_exit_inside_method": "fn_exit",
        "functional_fence_python3": "fence", "functional_crlf": "fence",
        "undefined_annotation": "annotations", "open_0_with": "open", "open_0_readlines": "open",
        "open_0_iterate": "open",
    }  # fmt: skip
    if family in table:
        return table[family]
    if family.startswith("fence_"):
        return "fence"
    if family.startswith(("exit", "quit", "sys_exit", "raise_systemexit")):
        return "exit"
    if family.startswith(("main_guard", "global", "nonlocal", "threading", "class_at", "lambda",
                          "comprehension")):  # fmt: skip
        return "structure"
    if family.startswith("deep_recursion"):
        return "recursion"
    if family.startswith("int_"):
        return "bigint"
    if functional and family.startswith(("numpy", "tuple", "nested", "float", "int_for",
                                         "string_for", "set_", "quoted", "dict_", "generator",
                                         "returns_none")):  # fmt: skip
        return "fn_value"
    return "fn" if functional else "std"


def samples() -> list[dict]:
    rows = []
    for qid, family, completion in CASES_TABLE:
        ml, lcb = DECIDED_BY[_topic(family, qid)]
        rows.append({"question_id": qid, "completion": completion, "family": family,
                     "official": {}, "decided_by": {"ml_ssd": ml, "lcb": lcb}})  # fmt: skip
    return rows


def _run_official(tool: str, root: str, python: str, rows: list[dict]) -> list[bool]:
    bench = REPO / "benchmarks" / "bench_grading.py"
    tmp = HERE / f".{tool}_samples.jsonl"
    out = HERE / f".{tool}_out.json"
    tmp.write_text("".join(json.dumps(r) + "\n" for r in rows))
    try:
        subprocess.run(
            [python, str(bench), "--run-official", tool, "--dir", root, "--problems",
             str(PROBLEMS), "--samples", str(tmp), "--workers", "2", "--out", str(out)],
            check=True, stdout=subprocess.DEVNULL, cwd="/tmp",
        )  # fmt: skip
        return json.loads(out.read_text())["verdicts"]
    finally:
        tmp.unlink(missing_ok=True)
        out.unlink(missing_ok=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ml-ssd")
    parser.add_argument("--lcb")
    parser.add_argument("--python", default=sys.executable)
    args = parser.parse_args()
    PROBLEMS.write_text("".join(json.dumps(r) + "\n" for r in RECORDS))
    rows = samples()
    old = {}
    if SAMPLES.exists():
        for line in SAMPLES.read_text().splitlines():
            row = json.loads(line)
            old[(row["question_id"], row["completion"])] = row["official"]
    for row in rows:
        row["official"] = dict(old.get((row["question_id"], row["completion"]), {}))
    for tool, root in (("ml_ssd", args.ml_ssd), ("lcb", args.lcb)):
        if root:
            for row, verdict in zip(
                rows, _run_official(tool, root, args.python, rows), strict=True
            ):
                row["official"][tool] = verdict
    SAMPLES.write_text("".join(json.dumps(r) + "\n" for r in rows))
    print(f"{len(RECORDS)} problems, {len(rows)} samples -> {SAMPLES.name}")


if __name__ == "__main__":
    main()
