"""Every choice field refuses a bad value with the allowed list, from one source (choices.py).

Enum fields are refused while Hydra composes; the non-identifier ones (precision, tests, device) by
`validate()`; both as one line on the command line, exit code 2. Members must also keep behaving
as the plain strings the rest of the code compares, hashes and serialises.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import typing
from enum import Enum

import pytest
from helpers.support import REPO
from hydra.errors import ConfigCompositionException

from ssd.config import choices
from ssd.config.choices import STR_CHOICES, Choice
from ssd.config.schema import Config, ConfigError
from ssd.validation import validate


def schema_fields(cls: type = Config, prefix: str = ""):
    """(dotted key, annotation) of every leaf field of the schema."""
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        hint, key = hints[f.name], f"{prefix}{f.name}"
        if isinstance(hint, type) and dataclasses.is_dataclass(hint):
            yield from schema_fields(hint, key + ".")
        else:
            yield key, hint


def choice_in(hint) -> type[Choice] | None:
    """The Choice an annotation allows: X, X | None, list[X] or list[X] | None."""
    if isinstance(hint, type) and issubclass(hint, Choice):
        return hint
    for arg in typing.get_args(hint):
        found = choice_in(arg)
        if found is not None:
            return found
    return None


ENUMS = [(key, choice_in(hint)) for key, hint in schema_fields() if choice_in(hint)]
HINTS = dict(schema_fields())


def test_every_choice_class_is_a_schema_field_and_names_equal_values():
    """Names == values is what makes a member hash and find dict keys as its plain string."""
    defined = {
        obj
        for obj in vars(choices).values()
        if isinstance(obj, type) and issubclass(obj, Choice) and obj is not Choice
    }
    assert defined == {enum for _, enum in ENUMS}
    for enum in defined:
        assert [m.name for m in enum] == [m.value for m in enum], enum


@pytest.mark.parametrize("key,enum", ENUMS, ids=[k for k, _ in ENUMS])
def test_a_bad_enum_value_is_refused_at_compose_with_the_allowed_list(make_cfg, key, enum):
    hint = HINTS[key]
    is_list = any(typing.get_origin(h) is list for h in (hint, *typing.get_args(hint)))
    bad = "[bogus]" if is_list else "bogus"
    with pytest.raises(ConfigCompositionException) as err:
        make_cfg(f"{key}={bad}")
    message = str(err.value.__cause__ or err.value)
    allowed = ", ".join(member.value for member in enum)
    assert f"override {key}={bad}" in str(err.value)
    assert f"Invalid value 'bogus', expected one of [{allowed}]" in message


@pytest.mark.parametrize("key", sorted(STR_CHOICES))
def test_a_string_choice_is_a_str_field_whose_default_and_values_validate(make_cfg, key):
    # Optional only where None names a component's own rule (eval.benchmark.tests: the grader's)
    assert HINTS[key] == (str | None if key == "eval.benchmark.tests" else str)
    validate(make_cfg())  # the schema default is one of the allowed values (or that None)
    for value in STR_CHOICES[key]:
        validate(make_cfg(f"{key}={value.replace(':N', ':1')}"))


@pytest.mark.parametrize("key", sorted(STR_CHOICES))
def test_a_bad_string_choice_is_refused_by_validate_with_the_allowed_list(make_cfg, key):
    with pytest.raises(ConfigError) as err:
        validate(make_cfg(f"{key}=bogus"))
    allowed = ", ".join(STR_CHOICES[key])
    assert str(err.value) == f"{key}='bogus' is invalid: one of {allowed}"


def test_a_numbered_entry_allows_only_a_number(make_cfg):
    validate(make_cfg("analyze.device=cuda:3"))
    with pytest.raises(ConfigError, match=r"^analyze.device='cuda:x' is invalid"):
        validate(make_cfg("analyze.device=cuda:x"))


def test_a_choice_prints_compares_hashes_and_serialises_as_its_value(make_cfg):
    backend = make_cfg("sampling.backend=vllm").sampling.backend
    assert isinstance(backend, Enum) and backend == "vllm" and backend != "hf"
    assert (f"{backend}", f"{backend:>5}", str(backend), repr(backend)) == (
        "vllm",
        " vllm",
        "vllm",
        "'vllm'",
    )
    assert {"vllm": 1}[backend] == 1 and backend in {"vllm"}
    assert json.dumps({"b": backend, backend: 0}) == '{"b": "vllm", "vllm": 0}'
    assert "/".join(["x", backend]) == "x/vllm"


def test_a_bad_choice_on_the_command_line_is_one_line_and_exit_2(tmp_path):
    out = subprocess.run(
        [
            sys.executable,
            str(REPO / "train.py"),
            "sampling.backend=bogus",
            f"paths.cache_dir={tmp_path}/cache",
            "logger=none",
            f"hydra.run.dir={tmp_path}/run",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 2, out.stderr[-2000:]
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    assert "sampling.backend=bogus" in lines[0] and "expected one of [hf, vllm]" in lines[0]
    assert not (tmp_path / "cache").exists()
