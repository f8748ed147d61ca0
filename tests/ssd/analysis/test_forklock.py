"""Tests of the fork/lock analysis: hand-built states with known answers, streaming, CLI, stage.

The pure-maths tests feed `ForkLockAccumulator` logits whose supports, masses and entropies are
worked out here with numpy; the CLI test runs a real tiny HF model pair and checks that batching,
padding and chunking give the same statistics as one unbatched forward per context.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from ssd.analysis.forklock import AnalysisSettings, ForkLockAccumulator
from ssd.analysis.ops import entropy_split, entropy_split_from_logits, truncate_sorted
from ssd.cli.main import main
from ssd.generation.decoding import transform

# T_train 1.0, top-p 0.8: the kept prefix is the smallest one whose mass reaches 0.8.
BASE = {
    "lock": [0.90, 0.05, 0.03, 0.02],  # S = {0}: 0.90 >= 0.8
    "fork2": [0.45, 0.40, 0.10, 0.05],  # S = {0, 1}: 0.85 >= 0.8, 0.45 < 0.8
    "fork3": [0.30, 0.30, 0.30, 0.10],  # S = {0, 1, 2}
}
SSD = {
    "lock": [0.99, 0.005, 0.003, 0.002],
    "fork2": [0.50, 0.45, 0.03, 0.02],
    "fork3": [0.33, 0.33, 0.32, 0.02],
}
SUPPORT = {"lock": [0], "fork2": [0, 1], "fork3": [0, 1, 2]}
SETTINGS = AnalysisSettings(
    train_temperature=1.0, train_top_p=0.8, eval_temperatures=(0.5, 1.0), eval_top_p=0.8
)


def bits(p) -> float:
    p = np.asarray(p, dtype=np.float64)
    p = p[p > 0]
    return float(-(p * np.log2(p)).sum())


def logits_of(table: dict[str, list[float]]) -> torch.Tensor:
    return torch.tensor(np.log([table[name] for name in ("lock", "fork2", "fork3")]))


@pytest.fixture(scope="module")
def hand_built() -> dict:
    acc = ForkLockAccumulator(SETTINGS)
    acc.update(logits_of(BASE), logits_of(SSD))
    return acc.result()


def test_supports_and_lock_fork_labels(hand_built):
    summary = hand_built["summary"]
    assert summary["n_positions"] == 3
    assert summary["lock_fraction"] == pytest.approx(1 / 3)
    assert summary["mean_support_size"] == pytest.approx(2.0)
    assert hand_built["support_size_histogram"]["counts"][:4] == [1, 1, 1, 0]
    for model in ("base", "ssd"):
        assert hand_built["models"][model]["lock"]["n_positions"] == 1
        assert hand_built["models"][model]["fork"]["n_positions"] == 2


def test_kept_mass_distractor_mass_and_entropies(hand_built):
    models, summary = hand_built["models"], hand_built["summary"]
    for model, table in (("base", BASE), ("ssd", SSD)):
        kept = {name: sum(table[name][i] for i in SUPPORT[name]) for name in table}
        assert summary[model]["lock_distractor_mass"] == pytest.approx(1 - kept["lock"])
        fork_kept = (kept["fork2"] + kept["fork3"]) / 2
        assert models[model]["fork"]["kept_mass"] == pytest.approx(fork_kept)
        fork_entropy = (bits(table["fork2"]) + bits(table["fork3"])) / 2
        assert summary[model]["fork_entropy_bits"] == pytest.approx(fork_entropy)
        assert models[model]["lock"]["entropy"] == pytest.approx(bits(table["lock"]))
        # head/tail by hand for the lock: head is token 0 alone (0 bits), tail is 1..3
        tail = np.array(table["lock"][1:]) / (1 - kept["lock"])
        assert models[model]["lock"]["head_entropy"] == pytest.approx(0.0, abs=1e-12)
        assert models[model]["lock"]["tail_entropy"] == pytest.approx(bits(tail))
    assert summary["base"]["lock_distractor_mass"] == pytest.approx(0.10)
    assert summary["ssd"]["lock_distractor_mass"] == pytest.approx(0.01)


def test_entropy_split_sums_to_the_entropy(hand_built):
    for model in ("base", "ssd"):
        for group in ("all", "lock", "fork"):
            g = hand_built["models"][model][group]
            assert g["gate"] + g["head"] + g["tail"] == pytest.approx(g["entropy"], abs=1e-12)
    # per position, on random distributions with excluded (-inf) tokens and random kept sets
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(200, 50, generator=gen, dtype=torch.float64) * 3
    logits[torch.rand(200, 50, generator=gen) < 0.2] = float("-inf")
    kept = torch.rand(200, 50, generator=gen) < 0.3
    split = entropy_split(logits.softmax(-1), kept)
    total = split["gate"] + split["head"] + split["tail"]
    assert torch.allclose(total, split["entropy"], atol=1e-12, rtol=0)
    k = split["kept_mass"]
    assert torch.allclose(split["gate"], -(k * k.log2() + (1 - k) * (1 - k).log2()), atol=1e-9)
    fast = entropy_split_from_logits(logits, kept)  # what the accumulator uses
    for key, value in split.items():
        assert torch.allclose(fast[key], value, atol=1e-10, rtol=0), key


def test_eval_truncation_counts_and_entropies(hand_built):
    # At T_eval 1.0 and eval top-p 0.8 the survivors are the training supports again.
    for model, table in (("base", BASE), ("ssd", SSD)):
        g = hand_built["models"][model]
        at_one = SETTINGS.eval_temperatures.index(1.0)
        assert g["lock"]["surviving_tokens"][at_one] == 1
        assert g["lock"]["truncated_entropy"][at_one] == pytest.approx(0.0, abs=1e-12)
        survivors = [len(SUPPORT["fork2"]), len(SUPPORT["fork3"])]
        assert g["fork"]["surviving_tokens"][at_one] == pytest.approx(np.mean(survivors))
        heads = [np.array(table[n])[SUPPORT[n]] for n in ("fork2", "fork3")]
        expected = np.mean([bits(h / h.sum()) for h in heads])
        assert g["fork"]["truncated_entropy"][at_one] == pytest.approx(expected)
        # cumulative mass vs rank: sorted cumsum, padded with 1 past the vocabulary
        cumulative = np.cumsum(sorted(table["lock"], reverse=True))
        np.testing.assert_allclose(g["lock"]["cumulative_mass"][:4], cumulative)
        assert g["lock"]["cumulative_mass"][-1] == pytest.approx(1.0)


@pytest.mark.parametrize(
    "temperature,top_k,top_p",
    [(0.0, 0, 1.0), (0.3, 0, 0.9), (1.0, 5, 1.0), (1.0, 5, 0.7), (2.5, 0, 0.8), (0.7, 3, 0.95)],
)
def test_sorted_truncation_matches_the_decoding_operator(temperature, top_k, top_p):
    gen = torch.Generator().manual_seed(1)
    logits = (torch.randn(64, 40, generator=gen) * 2).round()  # rounding makes many ties
    ours = truncate_sorted(logits.sort(-1, descending=True).values, temperature, top_k, top_p)
    reference = transform(logits, temperature, top_k, top_p)
    assert torch.equal((ours > 0).sum(-1), (reference > 0).sum(-1))
    torch.testing.assert_close(ours, reference.sort(-1, descending=True).values)


@pytest.mark.parametrize("scale", [0.3, 3.0])  # 0.3: ties past the top-k window; 3: none
def test_top_k_window_gives_the_full_vocabulary_result(scale):
    settings = AnalysisSettings(
        train_temperature=1.0,
        eval_temperatures=(0.4, 1.0, 2.0),
        eval_top_k=5,
        eval_top_p=0.9,
        max_rank=8,
        top_mass_k=4,
    )  # the top window: 5 + 8 ranks of a 300-token vocabulary
    gen = torch.Generator().manual_seed(4)
    logits = (torch.randn(40, 300, generator=gen) * scale * 10).round() / 10
    acc = ForkLockAccumulator(settings)
    acc.update(logits, logits)
    got = acc.result()["models"]["base"]["all"]
    for i, t in enumerate(settings.eval_temperatures):
        probs = transform(logits, t, 5, 0.9).double()
        assert got["surviving_tokens"][i] == pytest.approx(
            float((probs > 0).sum(-1).double().mean())
        )
        entropy = float((-torch.special.xlogy(probs, probs).sum(-1) / math.log(2)).mean())
        assert got["truncated_entropy"][i] == pytest.approx(entropy, rel=1e-5)


@pytest.mark.parametrize("rounded", [False, True])
def test_training_support_on_the_top_k_window_is_the_full_support(rounded):
    from ssd.analysis.ops import training_support
    from ssd.generation.decoding import support

    gen = torch.Generator().manual_seed(5)
    logits = torch.randn(40, 300, generator=gen) * 3
    if rounded:  # ties: which tied token a top-p cut keeps is arbitrary, in `support` too
        logits = (logits * 10).round() / 10
    probs = logits.softmax(-1)
    for k, p in ((3, 1.0), (5, 0.7), (20, 0.95), (0, 0.8)):
        window, full = training_support(logits, 1.3, k, p), support(logits, 1.3, k, p)
        if not rounded:
            assert torch.equal(window, full)
        assert torch.equal(window.sum(-1), full.sum(-1))
        torch.testing.assert_close((probs * window).sum(-1), (probs * full).sum(-1))


def test_positions_are_binned_by_top20_mass():
    masses = [0.9999, 0.997, 0.992, 0.985, 0.96, 0.5]  # one per bin, >=99.9% ... <95%
    probs = torch.tensor([[m / 20] * 20 + [(1 - m) / 20] * 20 for m in masses], dtype=torch.float64)
    acc = ForkLockAccumulator(SETTINGS)
    acc.update(probs.log(), probs.log())
    bins = acc.result()["models"]["base"]["all"]["by_top_mass_bin"]
    assert bins["n_positions"] == [1, 1, 1, 1, 1, 1]
    assert acc.result()["settings"]["mass_bin_labels"][0] == ">=99.9%"


def assert_close_tree(got, want, rel: float = 1e-9, path: str = "") -> None:
    """Recursive approx-equality of JSON-like results (floats to `rel`, the rest exactly)."""
    if isinstance(want, dict):
        assert set(got) == set(want), path
        for key in want:
            assert_close_tree(got[key], want[key], rel, f"{path}.{key}")
    elif isinstance(want, list):
        assert len(got) == len(want), path
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            assert_close_tree(g, w, rel, f"{path}[{i}]")
    elif isinstance(want, float):
        assert got == pytest.approx(want, rel=rel, abs=rel), path
    else:
        assert got == want, path


def test_streaming_in_chunks_equals_one_update():
    gen = torch.Generator().manual_seed(2)
    base, ssd = torch.randn(2, 30, 25, generator=gen) * 2
    whole, chunked = ForkLockAccumulator(SETTINGS), ForkLockAccumulator(SETTINGS)
    whole.update(base, ssd)
    for i in range(0, 30, 7):
        chunked.update(base[i : i + 7], ssd[i : i + 7])
    assert_close_tree(chunked.result(), whole.result())


# -- a real tiny HF model pair through the CLI -----------------------------------------------


@pytest.fixture(scope="module")
def model_pair(tiny_model_dir: Path, tmp_path_factory) -> tuple[Path, Path]:
    """The session's tiny Qwen3 as base, and a copy with perturbed weights as the 'SSD' model."""
    from ssd.models import load_model, save_model

    model, tokenizer = load_model(tiny_model_dir)
    gen = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for param in model.parameters():
            param.add_(0.3 * param.std() * torch.randn(param.shape, generator=gen))
    ssd_dir = tmp_path_factory.mktemp("ssd_model") / "model"
    save_model(model, tokenizer, ssd_dir)
    return tiny_model_dir, ssd_dir


def write_contexts(path: Path, tokenizer) -> None:
    ids = lambda text: tokenizer(text, add_special_tokens=False)["input_ids"]  # noqa: E731
    rows = [
        {"prompt_ids": ids(f"P{i}"), "completion_ids": ids(f"t{i} t{i + 3} t{2 * i} <eos>")}
        for i in range(5)
    ]
    rows.append({"prompt": "P1", "completion": "t7 t7 t2 t9 t1"})
    rows.append({"text": "P2 t3 t4 t5 t6 t8 t9 t1 t0"})
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))


def unbatched_reference(base_dir: Path, ssd_dir: Path, contexts) -> dict:
    """One plain forward per context, all positions in one update: no batching, no chunks."""
    from ssd.models import load_model

    logits = []
    for model_dir in (base_dir, ssd_dir):
        model, _ = load_model(model_dir)
        with torch.no_grad():
            rows = [
                model(input_ids=torch.tensor([c.input_ids])).logits[0, c.start - 1 : -1]
                for c in contexts
            ]
        logits.append(torch.cat(rows))
    acc = ForkLockAccumulator(CLI_SETTINGS)
    acc.update(*logits)
    return acc.result()


CLI_SETTINGS = AnalysisSettings(
    train_temperature=0.9, train_top_k=5, train_top_p=0.9, eval_temperatures=(0.5, 1.0, 1.5),
    eval_top_k=4, eval_top_p=0.8,
)  # fmt: skip


def test_cli_writes_json_and_pngs_and_streaming_changes_nothing(model_pair, tmp_path, capsys):
    from ssd.analysis.stream import to_context
    from ssd.models import load_model

    base_dir, ssd_dir = model_pair
    _, tokenizer = load_model(base_dir)
    contexts_file = tmp_path / "contexts.jsonl"
    write_contexts(contexts_file, tokenizer)
    out = tmp_path / "analysis"
    argv = ["analyze", "--base", str(base_dir), "--ssd", str(ssd_dir), "--contexts",
            str(contexts_file), "--t-train", "0.9", "--top-k", "5", "--top-p", "0.9",
            "--eval-temperatures", "0.5", "1.0", "1.5", "--eval-top-k", "4", "--eval-top-p", "0.8",
            "--batch-size", "3", "--chunk-tokens", "4", "--device", "cpu", "--dtype", "float32",
            "--out", str(out), "--logger", "csv"]  # fmt: skip
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "lock_distractor_mass: base" in printed and "fork_entropy_bits" in printed
    result = json.loads((out / "analysis.json").read_text())
    rows = [json.loads(line) for line in contexts_file.read_text().splitlines()]
    contexts = [to_context(row, tokenizer, 4096, "test") for row in rows]
    # 5 sample rows of 4 completion tokens, 5 completion words, a text row of 9 words minus 1
    assert result["summary"]["n_positions"] == 5 * 4 + 5 + 8
    assert result["inputs"]["n_contexts"] == 7
    want = unbatched_reference(base_dir, ssd_dir, contexts)
    for key in ("summary", "models", "support_size_histogram"):
        assert_close_tree(result[key], want[key], rel=1e-4)
    logged = (out / "csv" / "summary.csv").read_text()
    assert "analyze/ssd/lock_distractor_mass" in logged and "analyze/mean_support_size" in logged
    for name in ("fork_lock.png", "eval_truncation.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert (out / name).stat().st_size > 20_000


def test_cli_refuses_bad_input(model_pair, tmp_path, capsys):
    base_dir, ssd_dir = model_pair
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "no context fields"}\n')
    common = ["analyze", "--base", str(base_dir), "--ssd", str(ssd_dir), "--out", str(tmp_path)]
    assert main([*common, "--contexts", str(bad), "--t-train", "1.0", "--top-p", "1.5"]) == 2
    assert "top-p must be in" in capsys.readouterr().err
    assert main([*common, "--contexts", str(bad), "--t-train", "1.0"]) == 2
    assert "bad.jsonl:1: a context row needs" in capsys.readouterr().err


def test_output_head_check_catches_post_processed_logits(model_pair):
    from ssd.analysis.stream import check_output_head
    from ssd.models import load_model

    model, _ = load_model(model_pair[0])
    ids = torch.tensor([[2, 5, 6, 7]])
    check_output_head(model, ids, torch.ones_like(ids), "base")  # a plain head passes
    head = model.get_output_embeddings()
    model.get_output_embeddings = lambda: lambda h: 0.5 * head(h)  # e.g. logit scaling
    with pytest.raises(ValueError, match="not its output head"):
        check_output_head(model, ids, torch.ones_like(ids), "base")


# -- the pipeline stage and the sweep helpers -------------------------------------------------


def test_stage_is_cached_keyed_and_on_only_for_the_toy(make_cfg, model_pair, tmp_path):
    from dataclasses import replace

    from ssd.artifacts import ModelRef
    from ssd.cache import Cache, StageOutput
    from ssd.models import load_model
    from ssd.pipeline import typed
    from ssd.replicate import analyze_enabled
    from ssd.stages.analyze import analysis_settings, analyze

    cfg = make_cfg("eval.temperatures=[0.5,1.0]", "sampling.top_p=0.5", "analyze.plots=false")
    config = typed(cfg)
    assert analyze_enabled(config)  # null: the benchmark's default, on for the toy
    code = replace(config.eval, benchmark=replace(config.eval.benchmark, name="humaneval"))
    assert not analyze_enabled(replace(config, eval=code))
    forced_on = replace(config.analyze, enabled=True)
    assert analyze_enabled(replace(config, eval=code, analyze=forced_on))
    _, tokenizer = load_model(model_pair[0])
    kept = StageOutput("filter", "kept-key", tmp_path / "kept", {}, reused=False)
    kept.path.mkdir()
    write_contexts(kept.path / "kept.jsonl", tokenizer)
    base, ssd = ModelRef(model_pair[0], "base-key"), ModelRef(model_pair[1], "ssd-key")
    cache = Cache.at(tmp_path / "cache")
    settings = analysis_settings(config.sampling, config.eval)

    def run(analyze_cfg=config.analyze, analysis=settings):
        return analyze(base, ssd, kept, analyze_cfg, analysis, config.model, cache)

    first = run()
    assert not first.reused and (first.path / "analysis.json").is_file()
    assert first.metrics["n_positions"] == 33 and 0 < first.metrics["lock_fraction"] < 1
    assert {"base/lock_distractor_mass", "ssd/fork_entropy_bits", "mean_support_size"} <= set(
        first.metrics
    )
    assert run().reused
    # where and how it runs is not part of the key
    assert run(replace(config.analyze, batch_size=2)).key == first.key
    hotter = analysis_settings(replace(config.sampling, temperature=1.3), config.eval)
    assert run(analysis=hotter).key != first.key  # the support S_s is


def test_sweep_rows_and_chart_against_t_train(tmp_path):
    from ssd.analysis.report import fork_lock_rows, plot_fork_lock_vs_t_train

    for cell, t_train in enumerate([0.5, 1.0, 1.0, 2.0]):
        per_seed = [
            {"lock_fraction": 0.5, "mean_support_size": 1 + t_train + s,
             "base/lock_distractor_mass": 0.2, "ssd/lock_distractor_mass": 0.1 * t_train + s,
             "base/fork_entropy_bits": 2.0, "ssd/fork_entropy_bits": 1.0 + t_train}
            for s in (0.0, 0.2)
        ]  # fmt: skip
        results = {
            "config": {"sampling": {"temperature": t_train, "top_k": 0, "top_p": 0.8}},
            "replicates": [{"fork_lock": {"ssd": seed}} for seed in per_seed],
        }
        (tmp_path / str(cell)).mkdir()
        (tmp_path / str(cell) / "results.json").write_text(json.dumps(results))
    (tmp_path / "no_analysis").mkdir()
    (tmp_path / "no_analysis" / "results.json").write_text(
        json.dumps({"config": {}, "replicates": [{}]})
    )
    rows = fork_lock_rows(tmp_path)
    assert [r["t_train"] for r in rows] == [0.5, 1.0, 1.0, 2.0]
    assert rows[0]["ssd/lock_distractor_mass"] == pytest.approx(0.15)  # mean of 0.05 and 0.25
    assert rows[0]["n_seeds"] == 2 and rows[-1]["mean_support_size"] == pytest.approx(3.1)
    png = plot_fork_lock_vs_t_train(rows, tmp_path / "fork_lock_vs_t_train.png")
    assert png.stat().st_size > 20_000


def test_entropy_histogram_bins_are_in_bits():
    probs = torch.full((1, 8), 1 / 8, dtype=torch.float64)  # exactly 3 bits
    acc = ForkLockAccumulator(SETTINGS)
    acc.update(probs.log(), probs.log())
    hist = acc.result()["models"]["base"]["all"]["entropy_histogram"]
    assert hist.index(1) == math.floor(3.0 / SETTINGS.entropy_bin_bits + 1e-9)
