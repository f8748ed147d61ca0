"""The evaluate stage grades each distinct (problem, program) once and gives every sample its
verdict: duplicates (common at low T_eval) share one real sandbox run."""

from __future__ import annotations

import ssd.codeeval.evaluate as evaluate
from ssd.codeeval.benchmarks.tinycode import load_tinycode, solution, task_of
from ssd.config.schema import BenchmarkConfig


def test_duplicate_programs_are_graded_once_and_every_row_gets_its_verdict(monkeypatch):
    problems = {p.id: p for p in load_tinycode()[:2]}
    first, second = problems
    right = solution(task_of(problems[first]), "expression")
    wrong = "    return 12345\n"
    other = solution(task_of(problems[second]), "temp")
    completions = [(first, right), (first, wrong), (first, right), (second, other), (first, right)]
    rows = [{"prompt_id": pid, "completion": text} for pid, text in completions]
    sent = []
    real = evaluate.grade_many

    def spy(pairs, *args, **kwargs):
        sent.append([(p.id, code) for p, code in pairs])
        return real(pairs, *args, **kwargs)

    monkeypatch.setattr(evaluate, "grade_many", spy)
    codes, verdicts = evaluate._grade_rows(rows, problems, BenchmarkConfig(name="tinycode"))
    assert sent == [[(first, right), (first, wrong), (second, other)]]  # 3 distinct of 5
    assert [v.passed for v in verdicts] == [True, False, True, True, True]
    assert codes == [text for _, text in completions]
