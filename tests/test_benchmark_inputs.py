"""The training-step benchmark builds its batches by hand: they must stay what the loader
builds, or `make bench` measures (or breaks on) something training never runs."""

from dataclasses import fields

import pytest
import torch

from amr.augment import AugmentConfig, augment
from amr.train.batch import Batch
from amr.train.config import LossConfig, ModelConfig
from amr.train.curriculum import plan_epoch
from amr.train.data import CorpusSource, LoaderConfig, iterate_batches
from amr.train.engine import train_step
from amr.train.losses import Criterion
from amr.train.model import MomentDETR
from benchmarks.train import synthetic_batch


def test_the_benchmark_batch_has_the_loaders_dtypes_and_trains(small_store, tmp_path):
    corpus = tmp_path / "corpus"
    config = AugmentConfig(multiplier=1, seed=1, part_rows=64, row_group_rows=16)
    augment(small_store, "train", corpus, config, show_progress=False)
    source = CorpusSource(corpus, small_store, {"splice"}, LoaderConfig(batch_size=4), 0)
    _, loaded = next(iter(iterate_batches(source, plan_epoch(source.eligible, 0, 0, None, 48))))
    made = synthetic_batch(12, 6, torch.Generator().manual_seed(0))
    for field in fields(Batch):  # the same tensors as the loader's, of the same dtypes
        assert getattr(made, field.name).dtype == getattr(loaded, field.name).dtype, field.name
    model = MomentDETR(ModelConfig(video_dim=12, text_dim=6, hidden=16, heads=2, ffn=32))
    optimizer = torch.optim.AdamW(model.parameters())
    terms = train_step(model, Criterion(LossConfig()), optimizer, made, torch.device("cpu"), 0.1)
    assert torch.isfinite(terms["total"])


@pytest.mark.slow
def test_the_step_profile_counts_operators_on_the_cpu():
    """`make bench` counts a step's operators (issue 53's measure); on a CPU there are no
    kernel launches to count, and the count is of the step, not of the warm-up."""
    from benchmarks.train import op_counts

    one, two = (
        op_counts(12, 6, torch.device("cpu"), steps=1),
        op_counts(12, 6, torch.device("cpu"), steps=2),
    )
    assert one["launches"] is None and 0 < one["casts"] < one["ops"]
    assert abs(two["ops"] - one["ops"]) / one["ops"] < 0.05  # per step, whatever the steps


def test_the_gpu_check_runs_on_the_cpu_and_passes_the_eager_options():
    """`make bench-gpu` is first run on a lent GPU, whose minutes are few: its check runs here
    (a small model, the options that do not compile), and the optimisers agree."""
    from benchmarks.gpu_step import check
    from benchmarks.train import GPU_VARIANTS, step_rows

    eager = tuple(v for v in GPU_VARIANTS if not v.compile)
    small = {"hidden": 32, "heads": 4, "ffn": 64, "encoder_layers": 1, "decoder_layers": 2}
    results = check(torch.device("cpu"), eager, steps=2, dims=(12, 6), model_options=small)
    assert [name for name, _, _ in results] == [v.name for v in eager]
    assert all(passed for _, passed, _ in results), results
    rows, figures = step_rows(
        torch.device("cpu"), eager, steps=1, models=(("small", 12, 6, small),), rounds=2
    )
    assert (
        len(rows) == len(eager) and rows[0][3] == "1.00×"
    )  # the first is what all are compared with
    assert all(figures[v.name, 12].samples_per_second > 0 for v in eager)
