"""Pull the program out of a model's answer: fenced markdown code blocks, first or last.

`extract_code(text, rule="last")` returns the code or None when the text has no complete block
("no code"). The official SSD/LiveCodeBench evaluation takes the LAST block; some peers take the
first, hence the rule.
"""

from __future__ import annotations

import re

RULES = ("last", "first")

# As the official code (r"```(?:[a-zA-Z]*)\n(.*?)```"): an opening fence, an optional language tag
# (python, py, python3, or any other), the end of that line, then everything up to the next fence.
# The fence need not start a line, and an unclosed block (a truncated answer) does not count.
_BLOCK = re.compile(r"```[A-Za-z0-9_+.-]*[ \t]*\n(.*?)```", re.DOTALL)


def code_blocks(text: str) -> list[str]:
    """All complete fenced blocks, in order."""
    return _BLOCK.findall(text)


def extract_code(text: str, rule: str = "last") -> str | None:
    """The first or last fenced code block of `text`, or None when there is none.

    Args:
        text: Raw model output.
        rule: "last" (official SSD / LiveCodeBench) or "first".

    Returns:
        The block's content without the fences; "" for an empty block (it is graded, and fails).
    """
    if rule not in RULES:
        raise ValueError(f"rule must be one of {RULES}, got {rule!r}")
    blocks = code_blocks(text)
    if not blocks:
        return None
    return blocks[-1] if rule == "last" else blocks[0]
