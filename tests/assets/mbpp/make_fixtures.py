"""Write MBPP schema fixtures: `mbpp.jsonl` (the full release) and `sanitized-mbpp.json`.

    python tests/assets/mbpp/make_fixtures.py   # from any directory; writes next to this file

Rows after google-research/mbpp, in the published field order: 2 (few-shot split) and 601/603
(training split) must be left out by the loader; 11-82 are in the test split. Task 13's import
is moved into test_setup_code (empty in most real rows) so that the setup path is exercised; the
full release's code keeps its CRLF line ends and tabs; the sanitized file is one JSON line.
"""

import json
from pathlib import Path

HERE = Path(__file__).parent

FULL = [
    {
        "text": "Write a function to find the similar elements from the given two tuple lists.",
        "code": "def similar_elements(test_tup1, test_tup2):\r\n  res = tuple(set(test_tup1) & set(test_tup2))\r\n  return (res) ",
        "task_id": 2,
        "test_setup_code": "",
        "test_list": [
            "assert similar_elements((3, 4, 5, 6),(5, 7, 4, 10)) == (4, 5)",
            "assert similar_elements((1, 2, 3, 4),(5, 4, 3, 7)) == (3, 4)",
            "assert similar_elements((11, 12, 14, 13),(17, 15, 14, 13)) == (13, 14)",
        ],
        "challenge_test_list": [],
    },
    {
        "text": "Write a python function to remove first and last occurrence of a given character from the string.",
        "code": "def remove_Occ(s,ch): \r\n    for i in range(len(s)): \r\n        if (s[i] == ch): \r\n            s = s[0 : i] + s[i + 1:] \r\n            break\r\n    for i in range(len(s) - 1,-1,-1):  \r\n        if (s[i] == ch): \r\n            s = s[0 : i] + s[i + 1:] \r\n            break\r\n    return s ",
        "task_id": 11,
        "test_setup_code": "",
        "test_list": [
            'assert remove_Occ("hello","l") == "heo"',
            'assert remove_Occ("abcda","a") == "bcd"',
            'assert remove_Occ("PHP","P") == "H"',
        ],
        "challenge_test_list": [
            'assert remove_Occ("hellolloll","l") == "helollol"',
            'assert remove_Occ("","l") == ""',
        ],
    },
    {
        "text": "Write a function to sort a given matrix in ascending order according to the sum of its rows.",
        "code": "def sort_matrix(M):\r\n    result = sorted(M, key=sum)\r\n    return result",
        "task_id": 12,
        "test_setup_code": "",
        "test_list": [
            "assert sort_matrix([[1, 2, 3], [2, 4, 5], [1, 1, 1]])==[[1, 1, 1], [1, 2, 3], [2, 4, 5]]",
            "assert sort_matrix([[1, 2, 3], [-2, 4, -5], [1, -1, 1]])==[[-2, 4, -5], [1, -1, 1], [1, 2, 3]]",
            "assert sort_matrix([[5,8,9],[6,4,3],[2,1,4]])==[[2, 1, 4], [6, 4, 3], [5, 8, 9]]",
        ],
        "challenge_test_list": [],
    },
    {
        "text": "Write a function to count the most common words in a dictionary.",
        "code": "def count_common(words):\r\n  word_counts = Counter(words)\r\n  top_four = word_counts.most_common(4)\r\n  return (top_four)\r\n",
        "task_id": 13,
        "test_setup_code": "from collections import Counter",
        "test_list": [
            "assert count_common(['one', 'two', 'three', 'four', 'five', 'one', 'two', 'one', 'three', 'one']) == [('one', 4), ('two', 2), ('three', 2), ('four', 1)]",
            "assert count_common(['Facebook', 'Apple', 'Amazon', 'Netflix', 'Google', 'Apple', 'Netflix', 'Amazon']) == [('Apple', 2), ('Amazon', 2), ('Netflix', 2), ('Facebook', 1)]",
        ],
        "challenge_test_list": [],
    },
    {
        "text": "Write a function to find the perimeter of a square.",
        "code": "def square_perimeter(a):\r\n  perimeter=4*a\r\n  return perimeter",
        "task_id": 17,
        "test_setup_code": "",
        "test_list": [
            "assert square_perimeter(10)==40",
            "assert square_perimeter(5)==20",
            "assert square_perimeter(4)==16",
        ],
        "challenge_test_list": [],
    },
    {
        "text": "Write a function to find the maximum product subarray of the given array.",
        "code": "def max_subarray_product(arr):\r\n\tbest, lo, hi = arr[0], arr[0], arr[0]\r\n\tfor x in arr[1:]:\r\n\t\tlo, hi = min(x, lo * x, hi * x), max(x, lo * x, hi * x)\r\n\t\tbest = max(best, hi)\r\n\treturn best",
        "task_id": 601,
        "test_setup_code": "",
        "test_list": ["assert max_subarray_product([1, -2, -3, 0, 7, -8, -2]) == 112"],
        "challenge_test_list": [],
    },
]

SANITIZED = [
    {
        "source_file": "Benchmark Questions Verification V2.ipynb",
        "task_id": 2,
        "prompt": "Write a function to find the shared elements from the given two lists.",
        "code": "def similar_elements(test_tup1, test_tup2):\n  res = tuple(set(test_tup1) & set(test_tup2))\n  return (res) ",
        "test_imports": [],
        "test_list": [
            "assert set(similar_elements((3, 4, 5, 6),(5, 7, 4, 10))) == set((4, 5))",
            "assert set(similar_elements((1, 2, 3, 4),(5, 4, 3, 7))) == set((3, 4))",
        ],
    },
    {
        "source_file": "Benchmark Questions Verification V2.ipynb",
        "task_id": 11,
        "prompt": "Write a python function to remove first and last occurrence of a given character from the string.",
        "code": "def remove_Occ(s,ch): \n    for i in range(len(s)): \n        if (s[i] == ch): \n            s = s[0 : i] + s[i + 1:] \n            break\n    for i in range(len(s) - 1,-1,-1):  \n        if (s[i] == ch): \n            s = s[0 : i] + s[i + 1:] \n            break\n    return s ",
        "test_imports": [],
        "test_list": [
            'assert remove_Occ("hello","l") == "heo"',
            'assert remove_Occ("abcda","a") == "bcd"',
            'assert remove_Occ("PHP","P") == "H"',
        ],
    },
    {
        "source_file": "Mike's Copy of Benchmark Questions Verification V2.ipynb",
        "task_id": 56,
        "prompt": "Write a python function to check if a given number is one less than twice its reverse.",
        "code": "def rev(num):    \n    rev_num = 0\n    while (num > 0):  \n        rev_num = (rev_num * 10 + num % 10) \n        num = num // 10  \n    return rev_num  \ndef check(n):    \n    return (2 * rev(n) == n + 1)  ",
        "test_imports": [],
        "test_list": [
            "assert check(70) == False",
            "assert check(23) == False",
            "assert check(73) == True",
        ],
    },
    {
        "source_file": "Mike's Copy of Benchmark Questions Verification V2.ipynb",
        "task_id": 82,
        "prompt": "Write a function to find the volume of a sphere.",
        "code": "import math\ndef volume_sphere(r):\n  volume=(4/3)*math.pi*r*r*r\n  return volume",
        "test_imports": ["import math"],
        "test_list": [
            "assert math.isclose(volume_sphere(10), 4188.790204786391, rel_tol=0.001)",
            "assert math.isclose(volume_sphere(25), 65449.84694978735, rel_tol=0.001)",
            "assert math.isclose(volume_sphere(20), 33510.32163829113, rel_tol=0.001)",
        ],
    },
    {
        "source_file": "Benchmark Questions Verification V2.ipynb",
        "task_id": 603,
        "prompt": "Write a function to get all lucid numbers smaller than or equal to a given integer.",
        "code": "def get_ludic(n):\n\tludics = list(range(1, n + 1))\n\tindex = 1\n\twhile index != len(ludics):\n\t\tfirst = ludics[index]\n\t\tremove = index + first\n\t\twhile remove < len(ludics):\n\t\t\tludics.remove(ludics[remove])\n\t\t\tremove = remove + first - 1\n\t\tindex += 1\n\treturn ludics",
        "test_imports": [],
        "test_list": ["assert get_ludic(10) == [1, 2, 3, 5, 7]"],
    },
]


def main() -> None:
    (HERE / "mbpp.jsonl").write_text("".join(json.dumps(row) + "\n" for row in FULL))
    (HERE / "sanitized-mbpp.json").write_text(json.dumps(SANITIZED))


if __name__ == "__main__":
    main()
