"""Grade one set of samples under every grader mode and say where the verdicts differ.

`compare_modes(problems, samples)` returns a `ModeComparison`; `ssd grade --compare` prints its
table. This answers "why is my pass@1 not the paper's": the rows where strict, ml_ssd and lcb
disagree, each with its verdicts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

from ssd.codeeval.grading import Verdict, grade_many
from ssd.codeeval.problem import Problem
from ssd.codeeval.rules import RULES
from ssd.config.choices import Grader


@dataclass(frozen=True)
class ModeComparison:
    """Verdicts of the same samples under each mode, in sample order.

    Attributes:
        samples: (problem id, completion) pairs as graded.
        verdicts: mode name -> one Verdict per sample.
    """

    samples: Sequence[tuple[str, str]]
    verdicts: dict[str, list[Verdict]]

    def pass_rate(self) -> dict[str, float]:
        """Fraction of samples passed per mode (pass@1 when every problem has n samples)."""
        return {m: sum(v.passed for v in vs) / len(vs) for m, vs in self.verdicts.items()}

    def disagreements(self) -> dict[str, int]:
        """ "a vs b" -> how many samples the two modes give different verdicts (pass/fail)."""
        out = {}
        for a, b in combinations(self.verdicts, 2):
            pairs = zip(self.verdicts[a], self.verdicts[b], strict=True)
            out[f"{a} vs {b}"] = sum(x.passed != y.passed for x, y in pairs)
        return out

    def disagreeing_rows(self) -> list[dict]:
        """One row per sample whose modes disagree: index, problem id, each mode's status."""
        rows = []
        for i, (pid, _) in enumerate(self.samples):
            got = {m: vs[i] for m, vs in self.verdicts.items()}
            if len({v.passed for v in got.values()}) > 1:
                rows.append({"sample": i, "id": pid, **{m: v.status for m, v in got.items()}})
        return rows


def compare_modes(
    problems: dict[str, Problem],
    samples: Sequence[tuple[str, str]],
    timeout_s: float = 6.0,
    memory_mb: int = 1024,
    isolation: str | None = None,
    workers: int | None = None,
    progress: bool = True,
) -> ModeComparison:
    """Grade `samples` (problem id, raw completion) under every `Grader`, each with its own
    extraction, tests and comparison. Problems must be loaded with public+private tests."""
    verdicts = {}
    for mode in Grader:
        rules = RULES[mode]
        pairs = [(problems[pid], rules.extract_code(text)) for pid, text in samples]
        verdicts[mode.value] = grade_many(
            pairs, timeout_s, memory_mb, isolation, workers, progress, rules=rules
        )
    return ModeComparison(list(samples), verdicts)


def format_table(table: ModeComparison) -> str:
    """The comparison as plain text: pass rates, counts per pair, then the disagreeing rows."""
    modes = list(table.verdicts)
    lines = ["pass rate: " + ", ".join(f"{m} {r:.4f}" for m, r in table.pass_rate().items())]
    n = len(table.samples)
    lines += [f"{pair}: {k}/{n} verdicts differ" for pair, k in table.disagreements().items()]
    rows = table.disagreeing_rows()
    if rows:
        lines.append("\t".join(["sample", "id", *modes]))
        lines += ["\t".join(str(r[c]) for c in ["sample", "id", *modes]) for r in rows]
    return "\n".join(lines)
