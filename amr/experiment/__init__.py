"""`amr experiment`: the paper's claim, tested as pre-registered in docs/benchmark.md.

Baseline (real data only), AMR's two stages, the ablations and two controls, each trained to
convergence on nested fractions of the train split, scored on the held-out test split with
bootstrap intervals over seeds and queries.

>>> from amr.experiment import ExperimentConfig, run_experiment, write_report
>>> config = ExperimentConfig(store=Path("runs/qvh"), out=Path("runs/experiment"),
...                           fractions=(0.1,), seeds=1, arms=("baseline", "amr"))
>>> write_report(config, run_experiment(config))
"""

from amr.experiment.analysis import Analysis, ArmFigures, Verdict, hypotheses
from amr.experiment.arms import ARMS, DEFAULT_ARMS, Arm
from amr.experiment.budget import BUDGETS, Budget
from amr.experiment.publish import write_report
from amr.experiment.records import ArmResult, RunRecord
from amr.experiment.report import terminal_table
from amr.experiment.runner import ExperimentConfig, run_experiment
from amr.experiment.stats import Interval, bootstrap

__all__ = [
    "ARMS",
    "BUDGETS",
    "DEFAULT_ARMS",
    "Analysis",
    "Arm",
    "ArmFigures",
    "ArmResult",
    "Budget",
    "ExperimentConfig",
    "Interval",
    "RunRecord",
    "Verdict",
    "bootstrap",
    "hypotheses",
    "run_experiment",
    "terminal_table",
    "write_report",
]
