"""The three ways amr trains, each a `Stage` value run by the one engine (engine.py):

- `baseline`: the model on a store split's real samples, shuffled; the reference every result
  is compared with;
- `cold-start` (stage 1): the model on the corpus's augmented rows, easiest first;
- `distill` (stage 2): the cold-start model plus Active Queries on the corpus's real rows, taught
  by a frozen copy of itself (distillation) and with the discrimination loss.

A new variant of a stage is a new Stage value (or a field of one), not an edit to the loop.
The functions `baseline`, `cold_start` and `distill` build a stage's RunSpec and run it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch
from torch import nn

from amr.corpus.kinds import AUGMENTED
from amr.corpus.reader import Corpus
from amr.datasets.store import Store
from amr.errors import AmrError
from amr.train.checkpoint import (
    LAST,
    check_model_fits_store,
    load_checkpoint,
    model_config_of,
    model_from_checkpoint,
)
from amr.train.config import (
    STAGE_TRAIN_DEFAULTS,
    DistillConfig,
    LossConfig,
    ModelConfig,
    TrainConfig,
)
from amr.train.data import CorpusSource, LoaderConfig, RowSource, StoreSource
from amr.train.distill import DistillCriterion, init_student
from amr.train.engine import RunSummary, run
from amr.train.losses import Criterion
from amr.train.model import MomentDETR
from amr.train.rundir import RunOptions, check_resumable, saved_run_config
from amr.train.spec import RunSpec, Stage

AUGMENTED_KINDS = frozenset(AUGMENTED)


def _fresh_model(spec: RunSpec, device: torch.device, fresh: bool) -> tuple[MomentDETR, nn.Module]:
    """A newly initialised model (drawn from the seeded RNG) and the standard losses."""
    return MomentDETR(spec.model).to(device), Criterion(spec.loss)


def _store_rows(spec: RunSpec, loader: LoaderConfig) -> RowSource:
    assert spec.split is not None
    return StoreSource(spec.store, spec.split, loader, spec.train.seed)


def _augmented_rows(spec: RunSpec, loader: LoaderConfig) -> RowSource:
    kinds = set(spec.kinds or AUGMENTED_KINDS)
    if spec.train.include_original:
        kinds.add("original")
    assert spec.corpus is not None
    return CorpusSource(spec.corpus, spec.store, kinds, loader, spec.train.seed)


def _real_rows_with_replay(spec: RunSpec, loader: LoaderConfig) -> RowSource:
    assert spec.corpus is not None and spec.distill is not None
    return CorpusSource(
        spec.corpus, spec.store, {"original"}, loader, spec.train.seed,
        replay=spec.distill.replay_fraction, replay_kinds=AUGMENTED_KINDS,
    )  # fmt: skip


def _student_and_teacher(
    spec: RunSpec, device: torch.device, fresh: bool
) -> tuple[MomentDETR, nn.Module]:
    """The student (the cold-start model's weights plus fresh Active Queries; on resume the
    checkpoint's weights replace them) and the criterion that runs the frozen teacher."""
    assert spec.init is not None and spec.distill is not None
    teacher = model_from_checkpoint(load_checkpoint(spec.init))
    student = MomentDETR(spec.model).to(device)
    if fresh:
        settings = spec.distill
        init_student(
            student, teacher, settings.init_original_randomly, settings.active_ffn == "copy"
        )
    joint = spec.distill.matching == "joint"
    criterion = DistillCriterion(
        Criterion(spec.loss, joint), teacher.to(device), spec.distill, spec.train.cpu_bf16
    )
    return student, criterion


# The reference every result is compared with: real samples only, shuffled.
BASELINE = Stage(
    "baseline", rows=_store_rows, build=_fresh_model, paced=False,
    train_defaults=STAGE_TRAIN_DEFAULTS["baseline"],
)  # fmt: skip
# Stage 1: the augmented rows, easiest first.
COLD_START = Stage(
    "cold-start", rows=_augmented_rows, build=_fresh_model,
    train_defaults=STAGE_TRAIN_DEFAULTS["cold-start"],
)  # fmt: skip
# Stage 2, on the reference schedule (batch 32 and lr 1e-4 are TrainConfig's defaults already).
# The reference shuffles the real rows; amr keeps them easy to hard but reads all of them in
# every epoch (`ordered`); --no-curriculum is the reference's plain shuffle.
DISTILL = Stage(
    "distill", rows=_real_rows_with_replay, build=_student_and_teacher,
    train_defaults=STAGE_TRAIN_DEFAULTS["distill"],
)  # fmt: skip
STAGES: dict[str, Stage] = {stage.name: stage for stage in (BASELINE, COLD_START, DISTILL)}


# -- the public functions ---------------------------------------------------------------------
# A stage's spec function builds its RunSpec; `start` runs a spec in a new run directory and
# `resume` continues the run a directory holds. `baseline`, `cold_start` and `distill` do
# both in one call, taking RunOptions' flags as keywords: resume, overwrite, show_progress.


def start(
    spec: RunSpec, out: str | Path, *, overwrite: bool = False, show_progress: bool = True
) -> RunSummary:
    """Train the run `spec` describes into a new run directory `out` (replacing an earlier
    run there only with `overwrite`, and only once the new one has finished)."""
    options = RunOptions(Path(out), overwrite=overwrite, show_progress=show_progress)
    return run(STAGES[spec.stage], spec, options)


def resume(
    out: str | Path,
    *,
    expect: RunSpec | None = None,
    asked: Mapping[str, Any] | None = None,
    show_progress: bool = True,
) -> RunSummary:
    """Continue the run in `out` from its last.pt, with the spec its config.json holds: the
    directory is all it needs. `expect` (a whole spec) or `asked` (some of a spec's JSON, e.g.
    the options a command was given) must agree with the run's; a difference is refused, so a
    resume never continues another run than the one asked for."""
    out = Path(out)
    spec = RunSpec.from_json(saved_run_config(out))
    saved = spec.to_json()  # with any setting added since it was saved at its default
    if expect is not None:
        check_resumable(out, saved, expect.to_json())
    if asked:
        check_resumable(out, saved, asked, partial=True)
    options = RunOptions(out, resume=True, show_progress=show_progress)
    return run(STAGES[spec.stage], spec, options)


def asked_spec(
    stage: str,
    settings: Mapping[str, Any],
    store: str | Path | None = None,
    corpus: str | Path | None = None,
    init: str | Path | None = None,
    split: str | None = None,
    kinds: Iterable[str] | None = None,
) -> dict[str, Any]:
    """Some of a spec's JSON, as the spec functions would record what is given (paths resolved,
    --init as its checkpoint, kinds normalised): what `resume(out, asked=…)` checks a run
    against. `settings` are config sections (amr.train.config.stated_settings)."""
    asked: dict[str, Any] = {"stage": stage, **settings}
    for key, path in (("store", store), ("corpus", corpus)):
        if path is not None:
            asked[key] = str(Path(path).resolve())
    if init is not None:
        asked["init"] = str(init_checkpoint(init))
    if split is not None:
        asked["split"] = split
    if kinds is not None:
        chosen = kinds_setting(kinds)
        asked["kinds"] = None if chosen is None else list(chosen)
    return asked


def _started_or_resumed(spec: RunSpec, out: str | Path, options: dict[str, bool]) -> RunSummary:
    show = options.get("show_progress", True)
    if options.get("resume"):
        return resume(out, expect=spec, show_progress=show)
    return start(spec, out, overwrite=options.get("overwrite", False), show_progress=show)


def _spec(
    stage: Stage, store: Store, model: ModelConfig, loss: LossConfig | None, config: TrainConfig
) -> RunSpec:
    """The settings every stage records; each stage adds its own with `replace`."""
    return RunSpec(
        stage=stage.name,
        store=str(store.root.resolve()),
        store_fingerprint=store.meta.fingerprint,
        model=model,
        loss=loss or LossConfig(),
        train=config,
    )


def _store_model(store: Store, model_options: dict[str, Any] | None) -> ModelConfig:
    """The model's input widths are the store's; a config that states them (a run's own
    config.json reused as --config) must agree."""
    options = dict(model_options or {})
    for name, width in (("video_dim", store.meta.video_dim), ("text_dim", store.meta.text_dim)):
        given = options.pop(name, width)
        if given != width:
            raise AmrError(
                f"model {name} {given} does not match the store's {width} ({store.root}); "
                "leave it out of the config: the store decides it"
            )
    return ModelConfig.from_json(
        {"video_dim": store.meta.video_dim, "text_dim": store.meta.text_dim, **options}
    )


def baseline_spec(
    store: str | Path,
    split: str,
    config: TrainConfig | None = None,
    model_options: dict[str, Any] | None = None,
    loss: LossConfig | None = None,
) -> RunSpec:
    """The baseline on a store split's real samples."""
    opened = Store.open(store)
    config = config or BASELINE.train_config()
    model = _store_model(opened, model_options)
    return replace(_spec(BASELINE, opened, model, loss, config), split=split)


def baseline(
    store: str | Path,
    split: str,
    out: str | Path,
    config: TrainConfig | None = None,
    model_options: dict[str, Any] | None = None,
    loss: LossConfig | None = None,
    **options: bool,
) -> RunSummary:
    """The model trained on the real split only: the reference every result is compared with."""
    spec = baseline_spec(store, split, config, model_options, loss)
    return _started_or_resumed(spec, out, options)


def kinds_setting(kinds: Iterable[str] | None) -> tuple[str, ...] | None:
    """A cold start's augmented kinds as its spec records them: None for all of them."""
    augmented = set(AUGMENTED_KINDS if kinds is None else kinds)
    if not augmented or augmented - AUGMENTED_KINDS:
        raise AmrError(
            f"kinds must be some of {', '.join(sorted(AUGMENTED_KINDS))}, "
            f"got {', '.join(sorted(augmented)) or 'none'}"
        )
    return None if augmented == AUGMENTED_KINDS else tuple(sorted(augmented))


def cold_start_spec(
    corpus: str | Path,
    store: str | Path,
    config: TrainConfig | None = None,
    model_options: dict[str, Any] | None = None,
    loss: LossConfig | None = None,
    kinds: Iterable[str] | None = None,
) -> RunSpec:
    """Stage 1 on the corpus's augmented rows (`kinds` of them; None: all)."""
    chosen = kinds_setting(kinds)
    opened = Store.open(store)
    config = config or COLD_START.train_config()
    return replace(
        _spec(COLD_START, opened, _store_model(opened, model_options), loss, config),
        corpus=str(Path(corpus).resolve()),
        corpus_source=Corpus.open(corpus).manifest["source"],
        kinds=chosen,
    )


def cold_start(
    corpus: str | Path,
    store: str | Path,
    out: str | Path,
    config: TrainConfig | None = None,
    model_options: dict[str, Any] | None = None,
    loss: LossConfig | None = None,
    kinds: Iterable[str] | None = None,
    **options: bool,
) -> RunSummary:
    """Stage 1 into the run directory `out`: the corpus's augmented rows (and the real ones
    with include_original), in curriculum order. `kinds` narrows the augmented kinds read
    (e.g. without `negative`: the no-hard-negatives ablation)."""
    spec = cold_start_spec(corpus, store, config, model_options, loss, kinds)
    return _started_or_resumed(spec, out, options)


def init_checkpoint(init: str | Path) -> Path:
    """Stage 2's --init as a checkpoint file: a run directory means its last.pt (the last
    epoch, as the reference starts from)."""
    init = Path(init)
    return (init / LAST if init.is_dir() else init).resolve()


def distill_spec(
    init: str | Path,
    corpus: str | Path,
    store: str | Path,
    config: TrainConfig | None = None,
    settings: DistillConfig | None = None,
    loss: LossConfig | None = None,
) -> RunSpec:
    """Stage 2 from the cold start at `init`; the student's shape is the cold start's."""
    settings = settings or DistillConfig()
    init = init_checkpoint(init)
    body = load_checkpoint(init, header_only=True)  # the build reads its weights
    if body.get("stage") not in (COLD_START.name, BASELINE.name):
        raise AmrError(
            f"{init}: --init must be a cold-start (or baseline) run or checkpoint, not "
            f"{body.get('stage')!r}"
        )
    teacher_config = model_config_of(body)
    opened = Store.open(store)
    check_model_fits_store(teacher_config, opened, init)
    student = replace(teacher_config, active_queries=settings.active_queries)
    config = config or DISTILL.train_config()
    return replace(
        _spec(DISTILL, opened, student, loss, config),
        init=str(init),
        corpus=str(Path(corpus).resolve()),
        distill=settings,
    )


def distill(
    init: str | Path,
    corpus: str | Path,
    store: str | Path,
    out: str | Path,
    config: TrainConfig | None = None,
    settings: DistillConfig | None = None,
    loss: LossConfig | None = None,
    **options: bool,
) -> RunSummary:
    """Stage 2: the corpus's real rows, every one every epoch, easiest first; the student is
    the cold-start model at `init` (a run directory: its last.pt, the last epoch, as the
    reference starts from) plus Active Queries, taught by a frozen copy of it. A baseline
    model may stand in for the cold start (amr experiment's real-repeat control)."""
    spec = distill_spec(init, corpus, store, config, settings, loss)
    return _started_or_resumed(spec, out, options)
