"""Prompt rendering: chat (paper) and raw LCB wording (official code), stdin vs starter code."""

from __future__ import annotations

import pytest
from omegaconf import OmegaConf

from ssd.config.schema import PromptConfig
from ssd.generation.prompts import LCB_PREAMBLE, Prompt, problem_text, render, stop_token_ids
from ssd.models import load_tokenizer

STDIN = Prompt("a", "Print the sum of two integers read from stdin.")
FUNCTIONAL = Prompt("b", "Return the maximum of nums.", "class Solution:\n    def f(self, nums):\n")


def prompt_cfg(**changes):
    return OmegaConf.merge(OmegaConf.structured(PromptConfig), changes)


@pytest.fixture(scope="module")
def tokenizer(tiny_code_model_dir):
    return load_tokenizer(tiny_code_model_dir)


def test_lcb_wording_has_stdin_and_starter_code_variants():
    stdin = problem_text(STDIN, "lcb")
    assert stdin.startswith(LCB_PREAMBLE + "\n\nQuestion: Print the sum")
    assert "Read the inputs from stdin" in stdin and stdin.endswith("# YOUR CODE HERE\n```")
    functional = problem_text(FUNCTIONAL, "lcb")
    assert "You will use the following starter code" in functional
    assert functional.endswith(f"```python\n{FUNCTIONAL.starter_code}\n```")
    assert "stdin" not in functional


def test_plain_wording_is_the_statement_plus_a_starter_code_block():
    assert problem_text(STDIN) == STDIN.question
    assert problem_text(FUNCTIONAL) == (
        f"{FUNCTIONAL.question}\n\n```python\n{FUNCTIONAL.starter_code}\n```"
    )


def test_raw_format_sends_the_text_alone(tokenizer):
    text, ids = render(
        STDIN, tokenizer, prompt_cfg(format="raw", template="lcb", system_message="x")
    )
    assert text == problem_text(STDIN, "lcb") and "<|im_start|>" not in text
    assert tokenizer.decode(ids) == text


def test_chat_format_wraps_system_message_and_problem_in_the_template(tokenizer):
    cfg = prompt_cfg(format="chat", system_message="Answer in one Python code block.")
    text, ids = render(FUNCTIONAL, tokenizer, cfg)
    assert text == (
        "<|im_start|>system\nAnswer in one Python code block.<|im_end|>\n"
        f"<|im_start|>user\n{problem_text(FUNCTIONAL)}<|im_end|>\n<|im_start|>assistant\n"
    )
    assert tokenizer.decode(ids) == text
    no_system, _ = render(STDIN, tokenizer, prompt_cfg(format="chat"))
    assert no_system.startswith("<|im_start|>user\n")


def test_chat_template_kwargs_reach_the_template(tokenizer):
    tokenizer = type(tokenizer).from_pretrained(tokenizer.name_or_path)
    tokenizer.chat_template = "{{ reasoning_effort }}|{{ messages[-1]['content'] }}"
    text, _ = render(STDIN, tokenizer, prompt_cfg(format="chat"), {"reasoning_effort": "high"})
    assert text == f"high|{STDIN.question}"


class _Vocab:
    """A tokenizer stub with a given vocabulary, for end-of-turn tokens of other model families."""

    def __init__(self, vocabulary, eos):
        self.vocabulary, self.eos_token_id = vocabulary, vocabulary[eos]

    def get_vocab(self):
        return self.vocabulary


def test_stop_tokens_cover_each_family_but_not_gpt_oss_channel_end():
    llama = _Vocab({"<|begin_of_text|>": 0, "<|eot_id|>": 1, "<|end_of_text|>": 2}, "<|eot_id|>")
    assert stop_token_ids(llama) == [1, 2]
    harmony = _Vocab(
        {"<|endoftext|>": 0, "<|end|>": 1, "<|return|>": 2, "<|call|>": 3}, "<|return|>"
    )
    assert stop_token_ids(harmony) == [0, 2]  # <|end|> closes the reasoning message, not the turn
