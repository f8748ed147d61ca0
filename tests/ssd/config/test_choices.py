"""Every choice field refuses a bad value with the allowed list, from one source (choices.py).

Enum fields are refused while Hydra composes; the non-identifier ones (precision, tests, device) by
`validate()`; both as one line on the command line, exit code 2. And no YAML option restates a
schema default, and every value it states carries a comment: defaults live once, in the schema.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import fields, is_dataclass
from enum import Enum

import pytest
from helpers.support import CONF, REPO
from hydra.errors import ConfigCompositionException
from omegaconf import OmegaConf

from ssd.config.choices import STR_CHOICES, Choice
from ssd.config.schema import Config, ConfigError
from ssd.config.validation import validate


def enum_fields(node=None, prefix=""):
    """(dotted key, Enum type) of every Enum-typed schema field."""
    import typing

    node = Config() if node is None else node
    hints = typing.get_type_hints(type(node))
    for f in fields(node):
        value, key = getattr(node, f.name), f"{prefix}{f.name}"
        if is_dataclass(value):
            yield from enum_fields(value, key + ".")
            continue
        for candidate in (hints[f.name], *typing.get_args(hints[f.name])):
            if isinstance(candidate, type) and issubclass(candidate, Choice):
                yield key, candidate


ENUMS = list(enum_fields())


def test_the_schema_has_enum_choices_and_each_is_a_choice():
    keys = {key for key, _ in ENUMS}
    assert {"sampling.backend", "model.kind", "eval.benchmark.name", "logger.mode"} <= keys
    for _, enum in ENUMS:
        assert all(member.name == member.value for member in enum)


@pytest.mark.parametrize("key,enum", ENUMS, ids=[k for k, _ in ENUMS])
def test_a_bad_enum_value_is_refused_at_compose_with_the_allowed_list(make_cfg, key, enum):
    with pytest.raises(ConfigCompositionException) as err:
        make_cfg(f"{key}=bogus")
    message = str(err.value.__cause__ or err.value)
    assert "bogus" in message and all(member.value in message for member in enum)


@pytest.mark.parametrize("key", sorted(STR_CHOICES))
def test_a_bad_string_choice_is_refused_by_validate_with_the_allowed_list(make_cfg, key):
    with pytest.raises(ConfigError) as err:
        validate(make_cfg(f"{key}=bogus"))
    message = str(err.value)
    assert message.startswith(f"{key}='bogus' is invalid") and "\n" not in message
    assert all(value.split(":")[0] in message for value in STR_CHOICES[key])


def test_a_choice_prints_and_compares_as_its_value(make_cfg):
    backend = make_cfg().sampling.backend
    assert isinstance(backend, Enum) and backend == "hf" and f"{backend}" == "hf"
    assert {"hf": 1}[backend] == 1 and str(backend) == "hf"


def test_a_bad_choice_on_the_command_line_is_one_line_and_exit_2(tmp_path):
    out = subprocess.run(
        [sys.executable, "train.py", "sampling.backend=bogus", f"paths.cache_dir={tmp_path}"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 2, out.stderr[-2000:]
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "sampling.backend" in lines[0], out.stderr
    assert "hf" in lines[0] and "vllm" in lines[0]


def _leaves(tree, prefix=""):
    if not isinstance(tree, dict):
        return {prefix: tree}
    out = {}
    for key, value in tree.items():
        out.update(_leaves(value, f"{prefix}.{key}" if prefix else key))
    return out


GROUP_FILES = [
    p for p in sorted(CONF.glob("*/*.yaml")) if p.parent.name not in ("hydra", "experiment", "sweep")
]


@pytest.mark.parametrize("path", GROUP_FILES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_no_group_option_restates_a_schema_default(path):
    schema = OmegaConf.to_container(
        OmegaConf.structured(Config)[path.parent.name], enum_to_str=True
    )
    own = OmegaConf.to_container(OmegaConf.load(path))
    own.pop("defaults", None)
    defaults = _leaves(schema)
    restated = {k: v for k, v in _leaves(own).items() if k in defaults and defaults[k] == v}
    assert not restated, f"{path.relative_to(REPO)} restates schema defaults: {restated}"


YAML_FILES = sorted(p for p in CONF.rglob("*.yaml") if "hydra" not in p.parts)


@pytest.mark.parametrize("path", YAML_FILES, ids=lambda p: str(p.relative_to(CONF)))
def test_every_yaml_value_carries_a_comment(path):
    """A `key: value` line says what the value is and its trade-off (a header comment per file)."""
    lines = path.read_text().splitlines()
    assert lines and lines[0].startswith("#"), f"{path}: no header comment"
    bare = []
    for number, line in enumerate(lines, 1):
        body = line.split("#", 1)[0].rstrip()
        if not body or body.endswith(":") or body.lstrip().startswith("- "):
            continue  # a comment, a section key, or a defaults-list entry
        if "#" not in line:
            bare.append(f"{number}: {line.strip()}")
    assert not bare, f"{path.relative_to(REPO)}: values without a comment: {bare}"
