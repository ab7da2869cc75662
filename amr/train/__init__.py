"""Training: the DETR-style model, its losses, the three stages and the engine that runs them.

    config.py      settings (model, loss, train, distill) and their layering
    outputs.py     what the model returns: query sets, saliency
    model.py       MomentDETR            matcher.py, spans.py, losses.py   DETR's set losses
    distill.py     stage 2's losses      ablations.py  the ablation switches
    curriculum.py  epoch plans           data.py       batches from a corpus or a store
    batch.py       Batch: one training batch, typed, as data.py builds it and the losses read it
    stages.py      baseline, cold start, distill: what each reads and learns; their specs,
                   start(spec, out) and resume(out)
    engine.py      the loop every stage shares      spec.py, rundir.py, checkpoint.py
    validation.py  per-epoch val metrics            windows.py    videos longer than the model

Inference (amr.Predictor, `amr predict`) is its own package, amr.predict.

Names are loaded on first use, so `import amr.train.config` does not import torch.
"""

from __future__ import annotations

from amr.lazy import lazy_exports

_EXPORTS = {
    "Batch": "batch",
    "Criterion": "losses",
    "DistillConfig": "config",
    "LossConfig": "config",
    "MatchCosts": "matcher",
    "ModelConfig": "config",
    "ModelOutputs": "outputs",
    "MomentDETR": "model",
    "QuerySet": "outputs",
    "RunOptions": "rundir",
    "RunSpec": "spec",
    "RunSummary": "engine",
    "STAGES": "stages",
    "Stage": "stages",
    "TrainConfig": "config",
    "baseline": "stages",
    "baseline_spec": "stages",
    "cold_start": "stages",
    "cold_start_spec": "stages",
    "distill": "stages",
    "distill_spec": "stages",
    "hungarian_match": "matcher",
    "match_layers": "matcher",
    "load_checkpoint": "checkpoint",
    "model_from_checkpoint": "checkpoint",
    "read_metrics": "rundir",
    "resume": "stages",
    "start": "stages",
}
__all__ = sorted(_EXPORTS)

__getattr__ = lazy_exports("amr.train", _EXPORTS)
