"""`ssd report` on a sweep that crosses T_train x T_eval with training top-k and two models.

The cells' results.json are written here in the pipeline's schema (no pipeline run), so the test
is about what the report makes of them: one fit, heatmap panel and headline per setting/model.
"""

from __future__ import annotations

import json
from pathlib import Path

from ssd.cli.report import main as report


def _cell(t_train: float, top_k: int, model: str, peak: float) -> dict:
    t_evals = [0.4, 0.6, 0.8, 1.0, 1.2]
    point = lambda t, v, scale: {  # noqa: E731
        "t_eval": t, "t_eff": round(t * scale, 6), "pass@1": v, "pass@1_min": v, "pass@1_max": v,
        "sampled": {},
    }  # fmt: skip
    ssd = [point(t, 0.5 - (t * t_train - peak) ** 2, t_train) for t in t_evals]
    base = [point(t, 0.3 - (t - 0.7) ** 2, 1.0) for t in t_evals]
    return {
        "config": {
            "model": {"name": model},
            "filter": {"name": "paper"},
            "sampling": {"temperature": t_train, "top_k": top_k, "top_p": 1.0},
            "eval": {
                "top_k": 0,
                "top_p": 1.0,
                "selection": "test",
                "benchmark": {"name": "lcb", "version": "v6"}
                if model == "coder-b"
                else {"name": "humaneval"},
            },
        },
        "seeds": [0],
        "summary": {
            "curves": {"ssd": ssd, "base": base, "ssd_as_decoder": ssd},
            "best": {"base": {"t_eval": 0.8, "pass@1": 0.29}},
        },
    }


def test_report_fits_draws_and_heads_each_setting_apart(tmp_path: Path, capsys) -> None:
    cells = [
        (t_train, top_k, model, 0.8 if top_k == 0 else 1.1)
        for model in ("coder-a", "coder-b")
        for top_k in (0, 10)
        for t_train in (0.8, 1.2)
    ]
    for i, cell in enumerate(cells):
        (tmp_path / str(i)).mkdir()
        (tmp_path / str(i) / "results.json").write_text(json.dumps(_cell(*cell)))
    assert report([str(tmp_path)]) == 0
    out = capsys.readouterr().out
    summary = json.loads((tmp_path / "report" / "summary.json").read_text())
    fits = {(f["model"], f["top_k"]): f["fit"] for f in summary["teff_fits"]}
    assert sorted(fits) == [("coder-a", 0), ("coder-a", 10), ("coder-b", 0), ("coder-b", 10)]
    assert round(fits[("coder-a", 0)]["peak_t_eff"], 6) == 0.8
    assert round(fits[("coder-b", 10)]["peak_t_eff"], 6) == 1.1
    assert [h["model"] for h in summary["headline"]] == ["coder-a", "coder-b"]
    assert "[model coder-b, benchmark lcb/v6, top-k 10] quadratic fit" in out
    assert "coder-a on humaneval: best SSD 0.5000" in out and "coder-b on lcb/v6: best" in out
    table = (tmp_path / "report" / "table.csv").read_text().splitlines()
    assert len(table) == 1 + len(cells) * 5
    for png in ("heatmap_pass_at_1.png", "pass_at_1_vs_t_eff.png", "best_vs_baselines.png"):
        assert (tmp_path / "report" / png).stat().st_size > 5_000


def test_report_refuses_a_directory_without_results(tmp_path: Path, capsys) -> None:
    assert report([str(tmp_path)]) == 2
    assert "no results.json" in capsys.readouterr().err
    assert report([str(tmp_path / "missing")]) == 2
