"""Every schema field has a rule (ssd/config/rules.py), and every listed bad value is refused in one
line naming the key, by validate() before compute and by train.py with exit 2 within seconds."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import time
import typing
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from ssd.config.rules import RULES, ListOf, Optional, Range, check_rules
from ssd.config.schema import Config, ConfigError
from ssd.validation import validate

REPO = Path(__file__).resolve().parents[3]


def schema_keys(cls: type = Config, prefix: str = "") -> list[str]:
    """Every leaf field of the schema as a dotted key, through nested dataclasses."""
    hints = typing.get_type_hints(cls)
    keys = []
    for f in dataclasses.fields(cls):
        kind = hints[f.name]
        if dataclasses.is_dataclass(kind):
            keys += schema_keys(kind, f"{prefix}{f.name}.")
        else:
            keys.append(f"{prefix}{f.name}")
    return keys


def test_every_schema_field_has_a_rule_and_every_rule_a_field():
    """A field added without a rule (or a rule left behind by a removed field) fails here."""
    keys = schema_keys()
    assert sorted(set(keys) - set(RULES)) == [], "add a rule to ssd/config/rules.py::RULES"
    assert sorted(set(RULES) - set(keys)) == [], "rules for fields the schema no longer has"


def test_every_default_is_allowed_by_its_rule():
    check_rules(OmegaConf.structured(Config))


def test_every_float_field_refuses_nan_and_inf():
    """No float rule lets a non-finite value through (a range or a list/optional of one)."""
    rules = _float_rules()
    assert rules, "no float rules found"
    for key, rule in rules.items():
        for bad in (float("nan"), float("inf"), float("-inf")):
            assert rule.problem(bad) is not None, (key, bad)


def _float_rules() -> dict[str, Range]:
    out = {}
    for key, rule in RULES.items():
        while isinstance(rule, Optional | ListOf):
            rule = rule.inner
        if isinstance(rule, Range) and not rule.integer:
            out[key] = rule
    return out


@pytest.fixture
def a_file(tmp_path) -> Path:
    path = tmp_path / "a_file"
    path.write_text("not a directory\n")
    return path


CASES = [
    ("sampling.temperature=inf", "sampling.temperature"),
    ("sampling.temperature=nan", "sampling.temperature"),
    ("eval.temperature=inf", "eval.temperature"),
    ("eval.temperatures=[1.0,inf]", "eval.temperatures"),
    ("finetune.global_batch_size=0", "finetune.global_batch_size"),
    ("finetune.warmup_steps=-1", "finetune.warmup_steps"),
    ("finetune.grad_clip=-1.0", "finetune.grad_clip"),
    ("finetune.max_seq_len=1", "finetune.max_seq_len"),
    ("finetune.weight_decay=-0.1", "finetune.weight_decay"),
    ("finetune.betas=[0.9,1.0]", "finetune.betas"),
    ("finetune.betas=[-0.1,0.9]", "finetune.betas"),
    ("finetune.betas=[0.9]", "finetune.betas"),
    ("finetune.betas=[0.9,0.95,0.99]", "finetune.betas"),
    ("finetune.lr=nan", "finetune.lr"),
    ("eval.batch_size=0", "eval.batch_size"),
    ("eval.max_new_tokens=0", "eval.max_new_tokens"),
    ("paths.cache_dir=", "paths.cache_dir"),
    ("paths.cache_dir={file}", "paths.cache_dir"),
    ("paths.cache_dir={file}/below", "paths.cache_dir"),
    ("paths.output_dir={file}", "paths.output_dir"),
    ("toy.n_forks=0", "toy.n_forks"),
    ("model.name=", "model.name"),
    ("eval.benchmark.start=May", "eval.benchmark.start"),
]


@pytest.mark.parametrize("override,key", CASES)
def test_each_listed_bad_value_is_refused_before_compute(make_cfg, a_file, override, key):
    with pytest.raises(ConfigError) as err:
        validate(make_cfg(override.format(file=a_file)))
    message = str(err.value)
    assert message.startswith(f"{key}=") and " is invalid: " in message and "\n" not in message


def test_an_enum_value_is_refused_also_in_a_config_built_without_the_schema(make_cfg):
    """Hydra refuses logger.mode=bogus at compose time; a plain DictConfig handed to the pipeline
    (the Python API) bypasses the Enum, and the table still refuses it."""
    plain = OmegaConf.create(OmegaConf.to_container(make_cfg(), enum_to_str=True))
    plain.logger.mode = "bogus"
    with pytest.raises(ConfigError, match=r"^logger.mode='bogus' is invalid: one of auto, offline"):
        validate(plain)


def run_train(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(REPO / "train.py"), *args, "logger=none",
         f"paths.cache_dir={cwd}/cache", f"hydra.run.dir={cwd}/run"],
        cwd=cwd, capture_output=True, text=True, timeout=60, env=env,
    )  # fmt: skip


@pytest.mark.parametrize(
    "override,expected",
    [
        ("finetune.global_batch_size=0", "finetune.global_batch_size=0 is invalid: must be >= 1"),
        ("logger.mode=bogus", "Invalid value 'bogus', expected one of [auto, offline, online]"),
        ("sampling.temperature=inf", "sampling.temperature=inf is invalid: must be >= 0"),
        # another model under the default preset (the tiny code model's recipe)
        ("model=local", "model='local' is invalid: runs under the default preset experiment="),
    ],
)
def test_train_py_refuses_in_seconds_with_one_line_and_exit_2(tmp_path, override, expected):
    start = time.monotonic()
    result = run_train(override, cwd=tmp_path)
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert result.returncode == 2 and len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and expected in lines[0], lines
    assert time.monotonic() - start < 30 and not (tmp_path / "cache").exists()
