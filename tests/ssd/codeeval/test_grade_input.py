"""`ssd grade` on bad samples files: one line naming file:line, exit 2, never a traceback;
an empty completion is graded (a failing verdict that says why), not refused."""

from __future__ import annotations

import json

import pytest
from helpers.support import ASSETS

from ssd.cli.main import main

FIXTURE = ASSETS / "lcb" / "problems.jsonl"


def _grade(capsys, samples, *extra: str) -> tuple[int, str, str]:
    code = main(
        ["grade", "--no-progress", "--benchmark", "lcb", "--data", str(FIXTURE), "--samples"]
        + [str(samples), *extra]
    )
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b'{"question_id": "abc400_a", "completion": "x"}\n\xff\xfe\n', "s.jsonl:2: not UTF-8"),
        (b'{"question_id": "nope", "completion": "x"}\n', "s.jsonl:1: unknown question_id 'nope'"),
        (b'{"question_id": ["a"], "completion": "x"}\n', "s.jsonl:1: 'question_id' must be"),
        (b'{"question_id": true, "completion": "x"}\n', "s.jsonl:1: 'question_id' must be"),
        (b"[" * 100000 + b"\n", "s.jsonl:1: not JSON"),
        (b'\n\n{"question_id": "abc400_a"}\n', "s.jsonl:3: a row needs"),
        (b"[1, 2]\n", "s.jsonl:1: a row needs"),
    ],
)
def test_bad_rows_name_file_and_line(tmp_path, capsys, raw, message):
    samples = tmp_path / "s.jsonl"
    samples.write_bytes(raw)
    code, out, err = _grade(capsys, samples)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and message in err and "Traceback" not in err


def test_empty_completion_is_a_failing_verdict_with_its_reason(tmp_path, capsys):
    samples = tmp_path / "s.jsonl"
    samples.write_text(json.dumps({"question_id": "abc400_a", "completion": ""}) + "\n")
    out_file = tmp_path / "verdicts.jsonl"
    code, out, _ = _grade(capsys, samples, "--out", str(out_file), "--grader", "lcb")
    assert code == 0
    row = json.loads(out_file.read_text())
    assert (row["passed"], row["status"], row["reason"]) == (False, "no_code", "empty completion")
    assert row["sample"].endswith("s.jsonl:1")
