"""Every paper preset sets the values of paper-notes §2-3; official_repo sets the official code's."""

from __future__ import annotations

import pytest
from omegaconf import OmegaConf

from ssd.validation import validate

RECIPE = {  # paper-notes §2, shared by every model
    "finetune.lr": 5e-6,
    "finetune.min_lr": 1e-6,
    "finetune.global_batch_size": 32,
    "finetune.max_seq_len": 65536,
    "finetune.weight_decay": 0.1,
    "finetune.betas": [0.9, 0.95],
    "data.name": "rstar_seed",
    "data.dedup": True,
    "data.prompt.format": "chat",
    "filter.name": "paper",
    "sampling.backend": "vllm",
    "sampling.n_per_prompt": 1,
    "eval.benchmark.name": "lcb",
}
INSTRUCT = {"finetune.warmup_steps": 250, "finetune.max_steps": 2500}
THINKING = {"finetune.warmup_steps": 50, "finetune.max_steps": 300}
# paper-notes §3: (model id, T_train, k, p, T_eval, k_eval, p_eval); k 0 = off
TABLE = {
    "llama31_8b_instruct": (
        "meta-llama/Llama-3.1-8B-Instruct",
        0.8,
        20,
        0.8,
        0.7,
        20,
        0.8,
        INSTRUCT,
    ),
    "qwen3_4b_instruct": ("Qwen/Qwen3-4B-Instruct-2507", 1.6, 20, 0.8, 1.1, 20, 0.8, INSTRUCT),
    "qwen3_4b_thinking": ("Qwen/Qwen3-4B-Thinking-2507", 1.1, 20, 0.95, 0.7, 20, 0.95, THINKING),
    "qwen3_30b_instruct": (
        "Qwen/Qwen3-30B-A3B-Instruct-2507",
        1.6,
        20,
        0.8,
        0.9,
        20,
        0.8,
        INSTRUCT,
    ),
    "qwen3_30b_thinking": (
        "Qwen/Qwen3-30B-A3B-Thinking-2507",
        1.2,
        20,
        0.95,
        0.7,
        20,
        0.95,
        THINKING,
    ),
    "gpt_oss_20b": ("openai/gpt-oss-20b", 1.2, 0, 1.0, 1.0, 20, 0.95, THINKING),
}


def value(cfg, dotted):
    node = cfg
    for part in dotted.split("."):
        node = node[part]
    return list(node) if hasattr(node, "__len__") and not isinstance(node, str) else node


@pytest.mark.parametrize("key", sorted(TABLE))
def test_paper_preset_sets_every_value_of_the_paper(make_cfg, key):
    model_id, t_train, k, p, t_eval, k_eval, p_eval, schedule = TABLE[key]
    cfg = make_cfg(f"experiment=paper_{key}")
    expected = {
        **RECIPE,
        **schedule,
        "model.name": key,
        "model.kind": "hf",
        "model.path": model_id,
        "sampling.temperature": t_train,
        "sampling.top_k": k,
        "sampling.top_p": p,
        "eval.temperature": t_eval,
        "eval.top_k": k_eval,
        "eval.top_p": p_eval,
    }
    assert {name: value(cfg, name) for name in expected} == expected
    validate(cfg)  # hub ids are accepted without a network look-up


def test_gpt_oss_runs_at_reasoning_effort_high(make_cfg):
    cfg = make_cfg("experiment=paper_gpt_oss_20b")
    assert cfg.model.chat_template_kwargs == {"reasoning_effort": "high"}


def test_official_repo_preset_follows_the_official_code(make_cfg):
    cfg = make_cfg("experiment=official_repo")
    assert (cfg.sampling.temperature, cfg.sampling.top_k, cfg.sampling.top_p) == (1.5, 20, 0.8)
    assert cfg.filter.name == "official" and cfg.filter.shortest_percent == 10.0
    assert (cfg.data.prompt.format, cfg.data.prompt.template, cfg.data.dedup) == (
        "raw",
        "lcb",
        False,
    )
    assert cfg.model.path == "Qwen/Qwen3-4B-Instruct-2507" and cfg.finetune.lr == 5e-6
    other = make_cfg("experiment=official_repo", "model=qwen3_30b_instruct")
    assert other.model.path == "Qwen/Qwen3-30B-A3B-Instruct-2507"
    validate(cfg)


PER_MODEL = {  # what a paper_<model> preset may set itself; the rest comes from _shared/paper.yaml
    "model": None,
    "sampling": ("temperature", "top_k", "top_p"),
    "eval": ("temperature", "top_k", "top_p"),
    "finetune": ("warmup_steps", "max_steps"),
}


def test_paper_presets_differ_only_in_their_models_numbers(make_cfg):
    def shared(key):
        cfg = OmegaConf.to_container(make_cfg(f"experiment=paper_{key}"), enum_to_str=True)
        for group, keys in PER_MODEL.items():
            for name in keys or list(cfg[group]):
                cfg[group].pop(name)
        return cfg

    first, *others = sorted(TABLE)
    assert all(shared(key) == shared(first) for key in others)
