"""The SSD-as-decoder rule inside vLLM: a batch-level logits processor (vLLM v1 API).

A request whose `SamplingParams.extra_args` holds `ssd_train: [T_train, k_train, p_train]` gets
its logits restricted to the support of the base model's training decoding and divided by T_train;
vLLM's sampler then applies T_eval, top-k and top-p, so the draw follows
`ssd.generation.decoding.Decoder.probs`. The processor says it is not argmax-invariant, which makes vLLM run it
on the raw logits, before its temperature. Imported only by the vLLM engine (it imports vllm).
"""

from __future__ import annotations

import torch
from vllm.v1.sample.logits_processor import BatchUpdate, LogitsProcessor
from vllm.v1.sample.logits_processor.builtin import process_dict_updates

from ssd.generation.decoding import GREEDY_BELOW, support


class SSDSupportProcessor(LogitsProcessor):
    def __init__(self, vllm_config, device: torch.device, is_pin_memory: bool):  # noqa: ARG002
        self.train_decoding: dict[int, tuple[float, int, float]] = {}  # batch row -> (T, k, p)

    def is_argmax_invariant(self) -> bool:
        # Restricting to a support that always holds the argmax would be argmax-invariant, but
        # the support must be computed on raw logits, before vLLM's temperature: say False.
        return False

    def update_state(self, batch_update: BatchUpdate | None) -> None:
        def train_decoding(params, _prompt_ids, _output_ids):
            args = (params.extra_args or {}).get("ssd_train")
            return (float(args[0]), int(args[1]), float(args[2])) if args else None

        process_dict_updates(self.train_decoding, batch_update, train_decoding)

    def apply(self, logits: torch.Tensor) -> torch.Tensor:
        groups: dict[tuple[float, int, float], list[int]] = {}
        for row, rule in self.train_decoding.items():
            groups.setdefault(rule, []).append(row)
        for (t_train, k_train, p_train), rows in groups.items():
            index = torch.tensor(rows, device=logits.device)
            raw = logits[index].float()
            kept = support(raw, t_train, k_train, p_train)
            restricted = raw.masked_fill(~kept, float("-inf")) / max(t_train, GREEDY_BELOW)
            logits[index] = restricted.to(logits.dtype)
        return logits
