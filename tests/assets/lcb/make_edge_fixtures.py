"""Write edge_problems.jsonl (LCB schema) and edge_samples.jsonl: completions on which the grader
modes disagree, each with the verdict every mode must give and why (the official code's behaviour).

    python tests/assets/lcb/make_edge_fixtures.py   # rewrites both files

Samples rows: question_id, completion (raw model text), expect {strict, ml_ssd, lcb}, why.
"""

from __future__ import annotations

import json

from make_fixtures import HERE, record

SUM = "a, b = map(int, input().split())\nprint(a + b)"

RECORDS = [
    record("edge_sum", "Edge sum", "atcoder", "2025-03-02", "easy", "stdin",
           [("1 2\n", "3\n")], [("5 7\n", "12\n"), ("-3 3\n", "0\n")]),
    record("edge_echo", "Edge echo", "atcoder", "2025-03-09", "medium", "stdin",
           [("abc\n", "abc\n")], [("hello\n", "hello\n")], pack=True),
    record("edge_deep", "Edge depth", "atcoder", "2025-04-06", "hard", "stdin",
           [("5\n", "5\n")], [("3000\n", "3000\n")]),
    record("edge_pairs", "Edge pairs", "leetcode", "2025-04-13", "medium", "functional",
           [("[9]", "[[3]]")], [("[1, 2]", "[[1, 2]]")], func=("pairs", "xs: List[int]) -> List"),
           pack=True),
]  # fmt: skip


def fenced(code: str, tag: str = "python") -> str:
    return f"Sure.\n```{tag}\n{code}\n```\n"


def pairs(body: str) -> str:
    return fenced(f"class Solution:\n    def pairs(self, xs):\n        {body}")


def sample(qid: str, completion: str, strict: bool, ml_ssd: bool, lcb: bool, why: str) -> dict:
    expect = {"strict": strict, "ml_ssd": ml_ssd, "lcb": lcb}
    return {"question_id": qid, "completion": completion, "expect": expect, "why": why}


SAMPLES = [
    sample("edge_sum", fenced(SUM), True, True, True, "plain and correct"),
    sample("edge_sum", fenced(SUM + "\nexit()"), True, False, True,
           "ml-ssd sets builtins.exit = None; lcb_runner swallows SystemExit"),
    sample("edge_sum", fenced(SUM, "python3"), True, False, True,
           "ml-ssd's fence regex allows letters only in the tag"),
    sample("edge_sum", fenced("print(sum(map(int, open(0).read().split())))"), True, True, False,
           "lcb's `from builtins import *` shadows the patched open with the real one"),
    sample("edge_sum", fenced("a, b = map(int, input().split())\nprint(4 if a == 1 else a + b)"),
           True, True, False, "wrong on the public test only: ml-ssd grades private tests only"),
    sample("edge_sum", fenced("t = 0\ndef add(x):\n    global t\n    t += x\n"
                              "for x in map(int, input().split()):\n    add(x)\nprint(t)"),
           True, False, False, "make_function moves t into wrapped_function"),
    sample("edge_sum", fenced("if __name__ == '__main__':\n    print(sum(map(int, input().split())))\n"
                              "DONE = 1"), True, False, False, "a guard that is not last never runs"),
    sample("edge_sum", "no fence here: print(3)", False, False, False, "no code"),
    sample("edge_echo", fenced("import sys\nprint(sys.stdin.readline()[:-1])"), True, True, True,
           "the mock's readline is StringIO's: the newline is kept (the readline patch lands on "
           "the real stdin, entered first), so [:-1] drops only it (issue 21: run officially)"),
    sample("edge_echo", fenced("import sys\nprint(sys.stdin.buffer.read().decode().strip())"),
           True, True, True, "both stdin mocks have .buffer (issue 21: run officially)"),
    sample("edge_deep", fenced("def d(n):\n    return 0 if n == 0 else 1 + d(n - 1)\n"
                               "print(d(int(input())))"), True, False, True,
           "lcb raises the recursion limit to 50000, ml-ssd does not"),
    sample("edge_pairs", pairs("return [(3,)] if xs == [9] else [(1, 2)]"), True, False, False,
           "nested tuples: lcb compares with ==, ml-ssd the str()"),
    sample("edge_pairs", pairs("return [[3]] if xs == [9] else [[1.0, 2]]"), True, False, True,
           "ml-ssd compares '[[1.0, 2]]' with '[[1, 2]]' as text"),
    sample("edge_pairs", pairs("return [[3]] if xs == [9] else [[1, 2]]"), True, True, True,
           "plain and correct"),
]  # fmt: skip


def main() -> None:
    for name, rows in (("edge_problems.jsonl", RECORDS), ("edge_samples.jsonl", SAMPLES)):
        with open(HERE / name, "w", encoding="utf-8") as stream:
            for row in rows:
                stream.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
