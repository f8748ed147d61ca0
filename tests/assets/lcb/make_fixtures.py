"""Write problems.jsonl: five tiny problems in LiveCodeBench code_generation_lite's exact schema.

    python tests/assets/lcb/make_fixtures.py   # rewrites tests/assets/lcb/problems.jsonl

Stdin and functional problems, v6 and v5 contest dates, three difficulties; two problems carry
their private tests as LCB ships most of them: base64(zlib(pickle(JSON string))).
"""

from __future__ import annotations

import base64
import json
import pickle
import zlib
from pathlib import Path

HERE = Path(__file__).parent


def tests(pairs: list[tuple[str, str]], testtype: str) -> list[dict]:
    return [{"input": i, "output": o, "testtype": testtype} for i, o in pairs]


def compressed(cases: list[dict]) -> str:
    return base64.b64encode(zlib.compress(pickle.dumps(json.dumps(cases)))).decode()


def record(
    qid, title, platform, date, difficulty, testtype, public, private, func=None, pack=False
):
    starter = ""
    if func:
        starter = f"class Solution:\n    def {func[0]}(self, {func[1]}):\n        "
    return {
        "question_title": title,
        "question_content": f"{title}: a fixture problem.",
        "platform": platform,
        "question_id": qid,
        "contest_id": qid.split("_")[0],
        "contest_date": f"{date}T00:00:00",
        "starter_code": starter,
        "difficulty": difficulty,
        "public_test_cases": json.dumps(tests(public, testtype)),
        "private_test_cases": (compressed if pack else json.dumps)(tests(private, testtype)),
        "metadata": json.dumps({"func_name": func[0]} if func else {}),
    }


RECORDS = [
    record(
        "abc400_a",
        "Sum of two",
        "atcoder",
        "2025-03-01",
        "easy",
        "stdin",
        [("1 2\n", "3\n")],
        [("5 7\n", "12\n"), ("-3 3\n", "0\n"), ("100 200\n", "300\n")],
    ),
    record(
        "3500",
        "Add to all",
        "leetcode",
        "2025-04-12",
        "medium",
        "functional",
        [("[1, 2, 3]\n4", "[5, 6, 7]")],
        [("[0]\n0", "[0]"), ("[]\n5", "[]"), ("[-1, 10]\n-2", "[-3, 8]")],
        func=("addToAll", "nums: List[int], k: int) -> List[int]"),
        pack=True,
    ),
    record(
        "abc401_c",
        "Average",
        "atcoder",
        "2025-05-20",
        "hard",
        "stdin",
        [("2\n2 3\n", "2.5\n")],
        [("3\n1 1 1\n", "1\n"), ("1\n7\n", "7.0\n"), ("4\n1 2 3 4\n", "2.5\n")],
    ),
    record(
        "abc370_b",
        "Reverse",
        "atcoder",
        "2024-09-10",
        "easy",
        "stdin",
        [("abc\n", "cba\n")],
        [("x\n", "x\n"), ("hello\n", "olleh\n")],
    ),
    record(
        "3400",
        "Is even",
        "leetcode",
        "2025-02-15",
        "hard",
        "functional",
        [("4", "true")],
        [("7", "false"), ("0", "true"), ("-2", "true")],
        func=("isEven", "n: int) -> bool"),
        pack=True,
    ),
]


def main() -> None:
    with open(HERE / "problems.jsonl", "w", encoding="utf-8") as stream:
        for row in RECORDS:
            stream.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
