"""`ssd toy paper`: the SSD paper's 16-token fork/lock toy in closed form, plus SGD students.

    ssd toy paper [--json] [--sgd 1024] [--eval-top-p 0.8 ...]
Prints the teacher's and the exact SSD student's best P(pass) and where they peak, the robustness
over eval top-p, and writes pass_vs_T.png and summary.json under --out. The maths is in
ssd/toy/paper.py, the output in ssd/toy/paper_report.py, the SGD students in ssd/toy/paper_sgd.py.
"""

from __future__ import annotations

import argparse

from ssd.config.schema import ConfigError
from ssd.toy import paper_report
from ssd.toy.paper import ToyConfig, run_toy
from ssd.toy.paper_sgd import SGDConfig, run_sgd

FLOAT_OPTIONS: list[tuple[str, str, str]] = [
    ("t_min", "T", "lowest eval temperature T of the sweep"),
    ("t_max", "T", "highest eval temperature T of the sweep"),
    ("t_step", "STEP", "spacing of the T grid"),
    ("eval_top_p", "P", "eval top-p of the headline sweep, the same for both models"),
    ("t_train", "T", "T_train of the SSD sampling that defines the student"),
    ("train_top_p", "P", "top-p of the SSD sampling that defines the student"),
]
"""(ToyConfig field, metavar, help) of the float options; flag = field with dashes, but --grid-step."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``ssd toy``: the toy's name, then the sweep and output settings."""
    parser.add_argument(
        "toy", choices=["paper"], help="which toy; 'paper' = the SSD paper's fork/lock machine"
    )
    parser.add_argument(
        "--json", action="store_true", help="print a JSON summary on stdout instead of tables"
    )
    parser.add_argument(
        "--out",
        default="outputs/toy_paper",
        metavar="DIR",
        help="folder for pass_vs_T.png and summary.json (default: %(default)s)",
    )
    defaults = ToyConfig()
    for field, metavar, help_text in FLOAT_OPTIONS:
        flag = "--grid-step" if field == "t_step" else "--" + field.replace("_", "-")
        parser.add_argument(
            flag,
            dest=field,
            metavar=metavar,
            type=float,
            default=getattr(defaults, field),
            help=f"{help_text} (default: %(default)s)",
        )
    parser.add_argument(
        "--sgd",
        type=int,
        default=None,
        metavar="N",
        help="also train SGD students (a tiny Qwen3 through the pipeline's Lightning loop) on "
        "N/8, N/4, N/2 and N sampled SSD trajectories and compare them with the exact student "
        "(N=4096: ~20 s on 2 idle CPU cores)",
    )
    parser.add_argument(
        "--sgd-steps", type=int, default=400, metavar="S", help="optimizer steps per SGD student"
    )
    parser.add_argument(
        "--sgd-seed", type=int, default=0, help="seed of the trajectories and the students"
    )
    parser.add_argument(
        "--robust-top-ps",
        dest="robust_top_ps",
        type=float,
        nargs="+",
        default=list(defaults.robust_top_ps),
        metavar="P",
        help="eval top-p values of the robustness sweep (default: %(default)s)",
    )


def cli(args: argparse.Namespace) -> int:
    """Run the toy, print tables (or JSON with ``--json``), write the PNG and summary.json."""
    try:
        config = ToyConfig(
            robust_top_ps=tuple(args.robust_top_ps),
            **{field: getattr(args, field) for field, *_ in FLOAT_OPTIONS},
        )
    except ValueError as err:
        raise ConfigError(f"ssd toy paper: {err}") from err
    sgd = None
    if args.sgd is not None:
        try:
            sgd = SGDConfig(n_trajectories=args.sgd, steps=args.sgd_steps, seed=args.sgd_seed)
        except ValueError as err:
            raise ConfigError(f"ssd toy paper: {err}") from err
    summary, sweeps = run_toy(config)
    sgd_curves = None
    if sgd is not None:
        summary["sgd"], sgd_curves = run_sgd(config, sgd)
    summary["files"] = paper_report.write_outputs(summary, sweeps, config, args.out, sgd_curves)
    if args.json:
        paper_report.print_json(summary)
    else:
        paper_report.print_tables(summary)
    return 0
