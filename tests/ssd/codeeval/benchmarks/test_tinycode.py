"""Tiny-code tasks: deterministic, every solution style passes its hidden tests in the real
sandbox, a corrupted one fails, and the SSD pool and pretraining corpus never hold an eval spec."""

from __future__ import annotations

from ssd.codeeval.benchmarks.tinycode import (
    STYLES,
    Step,
    Task,
    load_tinycode,
    make_problems,
    normalize,
    pool_texts,
    solution,
    spec,
    task_of,
)
from ssd.codeeval.evaluate import grading_rules, load_benchmark
from ssd.codeeval.grading import grade_many
from ssd.config.schema import BenchmarkConfig, DataConfig, ToyTaskConfig
from ssd.data import load_prompts
from ssd.tinycode.corpus import corpus, drop_last

ADD3_TIMES2 = Task((Step("add", 3), Step("mul", 2)))


def test_generator_is_deterministic_in_its_seed():
    first, again = make_problems(30, seed=5), make_problems(30, seed=5)
    assert [(p.question, p.metadata["test"]) for p in first] == [
        (p.question, p.metadata["test"]) for p in again
    ]
    assert [p.question for p in make_problems(30, seed=6)] != [p.question for p in first]


def test_difficulty_is_the_number_of_steps():
    problems = load_tinycode()
    assert len(problems) == 144
    assert {d: sum(p.difficulty == d for p in problems) for d in ("easy", "medium", "hard")} == {
        "easy": 24,  # capped: only 42 one-step specs exist, 18 stay for pretraining and the pool
        "medium": 60,
        "hard": 60,
    }
    assert all(len(task_of(p).steps) == {"easy": 1, "medium": 2, "hard": 3}[p.difficulty]
               for p in problems)  # fmt: skip
    assert {p.difficulty for p in load_tinycode(["hard"])} == {"hard"}


def test_spec_states_the_steps_in_order():
    assert spec(ADD3_TIMES2) == "Take x, add 3, then multiply by 2, and return the result."


def test_styles_are_distinct_programs():
    assert len({solution(ADD3_TIMES2, style) for style in STYLES}) == 3


def test_every_style_passes_and_a_corruption_fails_in_the_sandbox():
    problems = load_tinycode()[:12]  # 4 of each difficulty: 36 reference programs
    tasks = [task_of(p) for p in problems]
    pairs = [(p, solution(t, s)) for p, t in zip(problems, tasks, strict=True) for s in STYLES]
    assert all(v.passed for v in grade_many(pairs, progress=False))
    # a forgotten last add/sub/mul always changes some asserted value
    wrong = [
        (p, solution(drop_last(t), style))
        for p, t in zip(problems, tasks, strict=True)
        if t.steps[-1].op in ("add", "sub", "mul")
        for style in STYLES
    ]
    assert wrong and not any(v.passed for v in grade_many(wrong, progress=False))


def test_pool_and_corpus_are_disjoint_from_the_benchmark():
    eval_specs = {normalize(p.metadata["spec"]) for p in load_tinycode()}
    pool = pool_texts()
    assert len(pool) == 2048 and len({text for _, text in pool}) == 2048
    assert not eval_specs & {normalize(text.split('"""')[1]) for _, text in pool}
    pairs = corpus(2000, seed=0, trap=0.3, lock_noise=0.15, exclude=eval_specs)
    assert not eval_specs & {normalize(prompt.split('"""')[1]) for prompt, _ in pairs}


def test_hooks_load_the_benchmark_and_pool():
    bench = BenchmarkConfig(name="tinycode")
    assert [p.id for p in load_benchmark(bench)] == [p.id for p in load_tinycode()]
    assert grading_rules(bench).extract == "none"  # the completion is the function body
    prompts = load_prompts(DataConfig(kind="tinycode", limit=10), ToyTaskConfig())
    assert [p.question for p in prompts] == [text for _, text in pool_texts()[:10]]
