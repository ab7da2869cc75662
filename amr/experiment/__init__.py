"""`amr experiment`: the paper's claim, checked side by side.

Baseline (real data only), augmented data only, and AMR's two stages, plus ablations, each with
the same model, seeds and number of training samples; mean ± std over seeds in results.md.

>>> from amr.experiment import ExperimentConfig, run_experiment, write_report
>>> config = ExperimentConfig(store=Path("runs/qvh"), out=Path("runs/experiment"), seeds=1)
>>> write_report(config, run_experiment(config))
"""

from amr.experiment.arms import ARMS, DEFAULT_ARMS, Arm
from amr.experiment.budget import BUDGETS, Budget
from amr.experiment.publish import write_report
from amr.experiment.records import ArmResult, RunRecord
from amr.experiment.report import ArmSummary, summarize, terminal_table
from amr.experiment.runner import ExperimentConfig, run_experiment

__all__ = [
    "ARMS",
    "BUDGETS",
    "DEFAULT_ARMS",
    "Arm",
    "ArmResult",
    "ArmSummary",
    "Budget",
    "ExperimentConfig",
    "RunRecord",
    "run_experiment",
    "summarize",
    "terminal_table",
    "write_report",
]
