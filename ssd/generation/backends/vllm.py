"""The `vllm` backend: offline `LLM.generate` over token-id prompts, one request per prompt.

Each prompt's request carries `SamplingParams(temperature, top_k, top_p, n, max_tokens, seed)` with
its own seed from `prompt_seed(seed, prompt_id)` (vLLM seeds the j-th of n samples seed + j), so a
prompt's samples do not depend on what else is in the batch or which shard it is in. vLLM applies
temperature, then top-k, then top-p inside the survivors: the order of `ssd.generation.decoding.transform`.
The SSD-as-decoder rule runs as a logits processor (ssd/generation/backends/vllm_logits.py) before vLLM's
own temperature. Nothing here imports vllm until the first `generate`, so the module is importable
(and the hf path usable) without it. Engine processes are spawned: guard entry points with
`if __name__ == "__main__"`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ssd.generation.backends.base import Completion, GenerationRequest, prompt_seed
from ssd.generation.decoding import Decoder
from ssd.generation.prompts import stop_token_ids
from ssd.models import load_tokenizer

if TYPE_CHECKING:
    from ssd.generation.sampler import Generation

SSD_PROCESSOR = "ssd.generation.backends.vllm_logits:SSDSupportProcessor"  # vLLM wants module:class


class VLLMBackend:
    """vLLM's offline engine behind the `SamplingBackend` protocol.

    Args:
        model_path: an HF directory or hub id.
        tokenizer: the model's HF tokenizer (stop tokens; prompts arrive already tokenized).
        dtype: model weights' dtype (`model.dtype`; auto = the checkpoint's).
        trust_remote_code: `model.trust_remote_code`.
        max_model_len: prompt + completion tokens per sequence; None = the model's own.
        tensor_parallel_size: GPUs one model is split over.
        gpu_memory_utilization: share of each GPU's memory vLLM may take (weights + KV cache).
        enforce_eager: no CUDA graphs.
        max_num_seqs: concurrent sequences; None = vLLM's default.
        engine_seed: the engine's global seed (requests carry their own).
        llm: an already built `vllm.LLM` to reuse (tests: one engine for many calls).
    """

    def __init__(
        self,
        model_path: str,
        tokenizer: Any,
        dtype: str = "auto",
        trust_remote_code: bool = False,
        max_model_len: int | None = None,
        tensor_parallel_size: int = 1,
        gpu_memory_utilization: float = 0.9,
        enforce_eager: bool = False,
        max_num_seqs: int | None = None,
        engine_seed: int = 0,
        llm: Any = None,
    ):
        self.model_path = model_path
        self.tokenizer = tokenizer
        self.stop_ids = stop_token_ids(tokenizer)
        self.engine_args = {
            "model": model_path,
            "dtype": dtype,
            "trust_remote_code": trust_remote_code,
            "max_model_len": max_model_len,
            "tensor_parallel_size": tensor_parallel_size,
            "gpu_memory_utilization": gpu_memory_utilization,
            "enforce_eager": enforce_eager,
            "seed": engine_seed,
            # Our SamplingParams are complete; do not let generation_config.json fill in defaults.
            "generation_config": "vllm",
            "logits_processors": [SSD_PROCESSOR],
        }
        if max_num_seqs is not None:
            self.engine_args["max_num_seqs"] = max_num_seqs
        self._llm = llm

    @property
    def llm(self) -> Any:
        """The engine, built on first use (loading weights and profiling memory takes a while)."""
        if self._llm is None:
            # Lazy: vllm is an optional dependency (pip install '.[vllm]').
            from vllm import LLM
            from vllm.platforms import current_platform

            args = {k: v for k, v in self.engine_args.items() if v is not None}
            if current_platform.is_cpu():
                # vLLM 0.32 on CPU: discarding a chunked prefill's token rewinds the request's
                # generator with set_offset, which CPU generators lack, so a seeded request whose
                # prompt is split kills the engine. Schedule whole prompts instead.
                args["enable_chunked_prefill"] = False
                args["max_num_batched_tokens"] = max(args.get("max_model_len") or 0, 8192)
            self._llm = LLM(**args)
        return self._llm

    def sampling_params(
        self, decoder: Decoder, n_per_prompt: int, max_new_tokens: int, seed: int
    ) -> Any:
        """vLLM's SamplingParams for one request; top_k 0 (off) becomes vLLM's -1."""
        from vllm import SamplingParams  # lazy: an optional dependency

        extra = None
        if decoder.train_temperature is not None:  # SSD-as-decoder: see vllm_logits.py
            extra = {
                "ssd_train": [decoder.train_temperature, decoder.train_top_k, decoder.train_top_p]
            }
        return SamplingParams(
            n=n_per_prompt,
            temperature=decoder.temperature,
            top_k=decoder.top_k if decoder.top_k > 0 else -1,
            top_p=decoder.top_p,
            max_tokens=max_new_tokens,
            seed=seed,
            stop_token_ids=self.stop_ids,
            detokenize=False,  # completions are decoded by ssd.stages.sample with the HF tokenizer
            extra_args=extra,
        )

    def generate(
        self,
        requests: list[GenerationRequest],
        decoder: Decoder,
        n_per_prompt: int,
        max_new_tokens: int,
        seed: int,
        progress: str | None = None,
    ) -> list[Completion]:
        prompts = [{"prompt_token_ids": list(r.prompt_ids)} for r in requests]
        params = [
            self.sampling_params(
                decoder, n_per_prompt, max_new_tokens, prompt_seed(seed, r.prompt_id)
            )
            for r in requests
        ]
        outputs = self.llm.generate(prompts, params, use_tqdm=progress is not None)
        completions = []
        for request, output in zip(requests, outputs, strict=True):
            for sample in sorted(output.outputs, key=lambda o: o.index):
                ids, reason = self._completion_ids(sample)
                completions.append(Completion(request.prompt_id, sample.index, ids, reason))
        return completions

    def _completion_ids(self, sample: Any) -> tuple[list[int], str]:
        """Token ids with the stop token kept (as the hf backend keeps it) and stop | length."""
        ids = list(sample.token_ids)
        if sample.finish_reason != "stop":
            return ids, "length"
        if not ids or ids[-1] not in self.stop_ids:
            stop = sample.stop_reason if isinstance(sample.stop_reason, int) else None
            ids.append(stop if stop is not None else self.tokenizer.eos_token_id)
        return ids, "stop"


def build(generation: Generation, model_dir: Path) -> tuple[VLLMBackend, Any]:
    """The backend `sampling.backend=vllm` names, from the model settings and `sampling.vllm.*`;
    it loads no HF weights of its own (only the tokenizer)."""
    m, v = generation.model, generation.sampling.vllm
    tokenizer = load_tokenizer(model_dir, m.trust_remote_code)
    backend = VLLMBackend(
        str(model_dir),
        tokenizer,
        dtype=str(m.dtype),  # a plain string for vLLM, not the config's Enum
        trust_remote_code=m.trust_remote_code,
        max_model_len=v.max_model_len or m.max_context,
        tensor_parallel_size=v.tensor_parallel_size,
        gpu_memory_utilization=v.gpu_memory_utilization,
        enforce_eager=v.enforce_eager,
        max_num_seqs=v.max_num_seqs,
    )
    return backend, tokenizer
