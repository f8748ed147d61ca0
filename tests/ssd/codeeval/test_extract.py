"""Code extraction: fenced blocks, the last (official) or first one, None for no code."""

from __future__ import annotations

import re

import pytest

from ssd.codeeval.extract import code_blocks, extract_code

ANSWER = """Let me think.
```python
print(1)
```
An improved version:
```py
print(2)
```
Example run:
```
print(3)
```
"""


def test_last_and_first_block():
    assert extract_code(ANSWER, "last") == "print(3)\n"
    assert extract_code(ANSWER, "first") == "print(1)\n"
    assert extract_code(ANSWER) == "print(3)\n"  # the official rule is the default
    assert code_blocks(ANSWER) == ["print(1)\n", "print(2)\n", "print(3)\n"]


def test_no_code_is_none_and_an_empty_block_is_code():
    assert extract_code("just prose, `inline` code only") is None
    assert extract_code("```python\nprint(1)\n") is None  # truncated: the block never closes
    assert extract_code("```python\n```") == ""


def test_tags_and_fences_inside_lines():
    assert extract_code("```python3\nx = 1\n```") == "x = 1\n"
    assert extract_code("```Python  \nx = 1\n```") == "x = 1\n"
    assert extract_code("Here: ```python\nx = 1\n``` done") == "x = 1\n"
    assert extract_code("```\n```python\nx = 1\n```") == ""  # the 2nd fence closes the 1st


def test_matches_the_official_regex_on_ordinary_answers():
    official = re.compile(r"```(?:[a-zA-Z]*)\n(.*?)```", re.DOTALL)  # apple/ml-ssd has_code()
    answers = [ANSWER, "no code", "```python\na\n```\n```\nb\n```", "x ```py\nq\n``` y ```"]
    for text in answers:
        assert code_blocks(text) == official.findall(text)


def test_unknown_rule():
    with pytest.raises(ValueError):
        extract_code(ANSWER, "middle")
