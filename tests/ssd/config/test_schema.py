"""Every config group option composes; every invalid value is refused before compute, in one line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from ssd.config.schema import Config, ConfigError
from ssd.validation import validate, validate_allocation

REPO = Path(__file__).resolve().parents[3]
CONF = REPO / "conf"

GROUPS = [
    "model",
    "data",
    "sampling",
    "filter",
    "finetune",
    "eval",
    "analyze",
    "logger",
    "experiment",
]
NEEDS = {  # options that need a value the user must give, and the companions they go with
    "model/local": ["model.path=/tmp", "data=jsonl", "data.path=x", "eval.benchmark.name=jsonl"],
    "data/jsonl": ["data.path=x"],
}


def options():
    for group in GROUPS:
        for path in sorted((CONF / group).glob("*.yaml")):
            yield group, path.stem


@pytest.mark.parametrize("group,option", list(options()))
def test_every_group_option_composes_to_the_schema_plus_its_own_values(make_cfg, group, option):
    """An option file only overrides: every value it states lands, every other is the schema's.

    A preset (experiment/) sets keys of many groups on top of the options it selects, so for it
    only the first half holds: what it states lands, and it changes the default config.
    """
    needs = NEEDS.get(f"{group}/{option}", [])
    cfg = make_cfg(f"{group}={option}", *needs)
    own = OmegaConf.to_container(OmegaConf.load(CONF / group / f"{option}.yaml"), resolve=False)
    own.pop("defaults", None)
    if group == "experiment" and not own:
        # experiment=toy names the groups' own defaults: the same config as no preset at all
        assert cfg == make_cfg("~experiment", *needs)
        return
    if group == "experiment":
        composed = _leaves(OmegaConf.to_container(cfg, resolve=True, enum_to_str=True))
        assert own and all(composed[key] == value for key, value in _leaves(own).items())
        assert cfg != make_cfg(*needs)
        return
    composed = OmegaConf.to_container(cfg[group], resolve=True, enum_to_str=True)
    schema = OmegaConf.to_container(OmegaConf.structured(Config)[group], enum_to_str=True)
    given = {o.split("=", 1)[0].split(".", 1)[1] for o in needs if o.startswith(f"{group}.")}
    for key, value in _leaves(schema).items():
        want = _leaves(own).get(key, value)
        if key not in given:
            assert _leaves(composed)[key] == want, (group, option, key)


def _leaves(tree, prefix=""):
    if not isinstance(tree, dict):
        return {prefix: tree}
    out = {}
    for key, value in tree.items():
        out.update(_leaves(value, f"{prefix}.{key}" if prefix else key))
    return out


def test_default_config_validates(make_cfg):
    validate(make_cfg())


@pytest.mark.parametrize(
    "override,key",
    [
        ("sampling.temperature=-0.5", "sampling.temperature"),
        ("eval.temperatures=[0.5,-1.0]", "eval.temperature"),
        ("eval.temperature=-1", "eval.temperature"),
        ("sampling.top_p=0", "sampling.top_p"),
        ("eval.top_p=1.01", "eval.top_p"),
        ("sampling.top_k=-1", "sampling.top_k"),
        ("eval.top_k=-2", "eval.top_k"),
        ("eval.n_samples=4", "eval.n_samples"),
        ("eval.k=[]", "eval.k"),
        ("finetune.global_batch_size=48", "finetune.global_batch_size"),
        ("finetune.min_lr=1.0", "finetune.min_lr"),
        ("replicates=0", "replicates"),
        ("sampling.max_new_tokens=3", "sampling.max_new_tokens"),
    ],
)
def test_invalid_values_name_the_key_and_what_is_allowed(make_cfg, override, key):
    with pytest.raises(ConfigError) as err:
        validate(make_cfg(override))
    message = str(err.value)
    assert message.startswith(key) and "\n" not in message and " is invalid: " in message


def test_missing_model_directory_and_unparseable_data_are_config_errors(make_cfg, tmp_path):
    good = tmp_path / "good.jsonl"
    good.write_text('{"question": "Add two numbers."}\n')
    with pytest.raises(ConfigError, match="model.path='/no/such/model'.*no such directory"):
        validate(
            make_cfg(
                "model=local",
                "model.path=/no/such/model",
                "data=jsonl",
                f"data.path={good}",
                "eval.benchmark.name=jsonl",
            )
        )
    with pytest.raises(ConfigError, match="data.path='/no/pool.jsonl' is invalid: no such file"):
        validate(make_cfg("data=jsonl", "data.path=/no/pool.jsonl"))
    bad = tmp_path / "pool.jsonl"
    bad.write_text('{"question": "ok"}\n{"question": \n')
    from ssd.data import load_jsonl_prompts

    with pytest.raises(ConfigError, match=r"pool.jsonl:2: not valid JSON"):
        load_jsonl_prompts(str(bad))
    bad.write_text('{"question": "ok"}\n{"prompt": "no question"}\n')
    with pytest.raises(ConfigError, match=r"pool.jsonl:2: needs a string field 'question'"):
        load_jsonl_prompts(str(bad))


def run_train(*args: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable,
            str(REPO / "train.py"),
            *args,
            f"paths.cache_dir={cwd}/cache",
            "logger=none",
            f"hydra.run.dir={cwd}/run",
        ],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    "override,expected",
    [
        ("sampling.temperature=-1", "sampling.temperature=-1.0 is invalid: must be >= 0"),
        ("sampling.top_p=1.5", "sampling.top_p=1.5 is invalid: must be in (0, 1]"),
        ("model=gpt5", "Could not find 'model/gpt5'; allowed: gpt_oss_20b, "),
        ("sampling.temprature=1.0", "Key 'temprature' not in 'SamplingConfig'"),
        ("eval.n_samples=abc", "could not be converted to Integer"),
        ("data=jsonl", "data=jsonl needs data.path=FILE.jsonl"),
    ],
)
def test_train_py_exits_2_with_one_line_and_writes_no_stage_output(tmp_path, override, expected):
    result = run_train(override, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and expected in lines[0], lines
    assert not (tmp_path / "cache").exists()


def test_a_multirun_with_a_null_group_exits_2_with_one_line(tmp_path):
    """Hydra rejects `-m GROUP=null` inside its defaults list with a bare ValueError: still exit 2."""
    result = run_train("-m", "experiment=null", "sampling.temperature=0.5,1.0", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "~GROUP" in lines[0], lines
    assert not (tmp_path / "cache").exists()


def test_training_that_does_not_fit_the_slurm_job_is_refused_before_compute(make_cfg):
    """Multi-node fine-tuning inside a job with too few nodes, or too few tasks per node for one
    rank per device, would fail only after sampling; it is a config error up front."""
    ft = make_cfg(
        "finetune.num_nodes=2", "finetune.devices=4", "finetune.global_batch_size=32"
    ).finetune
    validate_allocation(ft, {})  # outside SLURM nothing is known about the allocation
    validate_allocation(ft, {"SLURM_JOB_NUM_NODES": "2", "SLURM_NTASKS_PER_NODE": "4"})
    with pytest.raises(
        ConfigError, match=r"^finetune.num_nodes=2 is invalid: this SLURM job has 1 "
    ):
        validate_allocation(ft, {"SLURM_JOB_NUM_NODES": "1"})
    with pytest.raises(ConfigError, match=r"gpus_per_node=4$"):
        validate_allocation(ft, {"SLURM_JOB_NUM_NODES": "2", "SLURM_NTASKS_PER_NODE": "1"})
    one_node = make_cfg("finetune.devices=4", "finetune.global_batch_size=32").finetune
    validate_allocation(one_node, {"SLURM_JOB_NUM_NODES": "1", "SLURM_NTASKS_PER_NODE": "1"})
