"""The toy language's tokenizer: one word per toy token, so text round-trips exactly."""

from __future__ import annotations

from tokenizers import Tokenizer, decoders, models, pre_tokenizers
from transformers import PreTrainedTokenizerFast

from ssd.toy.task import EOS, PAD


def build_word_tokenizer(vocabulary: list[str]) -> PreTrainedTokenizerFast:
    """A whitespace word-level tokenizer: each toy token is one word, so text round-trips exactly."""
    backend = Tokenizer(models.WordLevel({w: i for i, w in enumerate(vocabulary)}, unk_token=PAD))
    backend.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    backend.decoder = decoders.WordPiece(prefix="##", cleanup=False)  # joins words with spaces
    return PreTrainedTokenizerFast(
        tokenizer_object=backend, pad_token=PAD, eos_token=EOS, padding_side="left"
    )
