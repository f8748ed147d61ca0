"""Defaults live once, in the schema: no YAML option restates one, and every value it states says why.

Presets (conf/experiment/) are exempt from the first rule: they pin a published recipe, whose
numbers are stated even where they equal a default (the schema's defaults are the toy's, and a
toy change must not move a paper preset); tests/ssd/config/test_presets.py pins those numbers.
"""

from __future__ import annotations

import typing
from pathlib import Path

import pytest
import yaml
from helpers.support import CONF, REPO
from omegaconf import OmegaConf

from ssd.config.schema import Config

GROUPS = [g for g in typing.get_type_hints(Config) if (CONF / g).is_dir()]
GROUP_FILES = [p for g in GROUPS for p in sorted((CONF / g).glob("*.yaml"))]
# Every YAML file of conf/ but Hydra's launcher settings and the sweeps (sweeps/, linked in).
YAML_FILES = sorted(
    p for p in CONF.rglob("*.yaml") if p.relative_to(CONF).parts[0] not in ("hydra", "sweep")
)


def _leaves(tree: typing.Any, prefix: str = "") -> dict[str, typing.Any]:
    if not isinstance(tree, dict) or not tree:
        return {prefix: tree}
    out = {}
    for key, value in tree.items():
        out.update(_leaves(value, f"{prefix}.{key}" if prefix else key))
    return out


def restated(group: str, text: str) -> dict[str, typing.Any]:
    """The values an option file of `group` states that equal the schema default at that path."""
    schema = _leaves(OmegaConf.to_container(OmegaConf.structured(Config)[group], enum_to_str=True))
    own = OmegaConf.to_container(OmegaConf.create(text or "{}"), resolve=False)
    own.pop("defaults", None)
    return {k: v for k, v in _leaves(own).items() if k in schema and schema[k] == v}


def uncommented(text: str) -> list[str]:
    """`key: value` lines (outside the defaults list) with no `# comment` after the value."""
    lines = text.splitlines()
    bare: list[str] = []

    def check(node: yaml.Node) -> None:  # the comment follows where the value ends
        end = node.end_mark
        if not lines[end.line][end.column :].lstrip().startswith("#"):
            bare.append(lines[node.start_mark.line].strip())

    def walk(mapping: yaml.MappingNode, top: bool) -> None:
        for key, value in mapping.value:
            if top and key.value == "defaults":
                continue
            if isinstance(value, yaml.MappingNode) and not value.flow_style and value.value:
                walk(value, top=False)
            elif isinstance(value, yaml.SequenceNode) and not value.flow_style:
                for item in value.value:
                    check(item)
            else:
                check(value)

    root = yaml.compose(text, Loader=yaml.SafeLoader)
    if root is not None:
        walk(root, top=True)
    return bare


@pytest.mark.parametrize("path", GROUP_FILES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_no_group_option_restates_a_schema_default(path: Path):
    found = restated(path.parent.name, path.read_text())
    assert not found, f"{path.relative_to(REPO)} restates schema defaults: {found}"


@pytest.mark.parametrize("path", YAML_FILES, ids=lambda p: str(p.relative_to(CONF)))
def test_every_yaml_value_carries_a_comment(path: Path):
    text = path.read_text()
    assert text.startswith("#"), f"{path.relative_to(REPO)}: no header comment"
    assert not uncommented(text), f"{path.relative_to(REPO)}: values without a comment"


def test_the_checks_catch_what_they_are_for():
    """Both checks above pass on every file today: show each can still fail."""
    assert restated("filter", "name: paper  # x\nstub_max_lines: 0  # x\n") == {"stub_max_lines": 0}
    assert restated("sampling", "vllm:\n  enforce_eager: false\n") == {"vllm.enforce_eager": False}
    assert restated("eval", "k: [1, 8]\nbenchmark:\n  name: toy\n") == {
        "k": [1, 8],
        "benchmark.name": "toy",
    }
    assert restated("model", "chat_template_kwargs: {}\ndtype: auto\n") == {
        "chat_template_kwargs": {}
    }
    text = (
        "defaults:\n  - override /data: toy\n"
        "a: 1  # ok\nb: '#not a comment'\nc:\n  d: [1, 2]\n  e: x  # ok\n"
        'f: "two\n  lines"  # ok\ng:\n  - item\n'
    )
    assert uncommented(text) == ["b: '#not a comment'", "d: [1, 2]", "- item"]
    assert GROUPS and len(GROUP_FILES) > len(GROUPS) and len(YAML_FILES) > len(GROUP_FILES)
