"""How hard the synthetic world is, per difficulty knob (label-aware feature statistics).

coherence: cosine of a moment's clips to the moment's mean; best outside: the closest clip
elsewhere in the video; confusable: share of queries where that clip beats the moment's own
average (a lookalike exists). Val split of the demo and control presets, and of the qvh
preset built from the real QVHighlights val annotations (half of them: the other half is test).
"""

from __future__ import annotations

from pathlib import Path

from amr.datasets import Store, SynthConfig, default_annotations, synthesize
from amr.datasets.synthetic.diagnostics import moment_contrast
from benchmarks.scratch import scratch_dir

VARIANTS: list[tuple[str, str, dict]] = [
    ("demo", "defaults", {}),
    ("demo", "no distractors", {"distractor_rate": 0.0}),
    ("demo", "a distractor per query", {"distractor_rate": 1.0}),
    ("demo", "family closeness 0.8", {"family_closeness": 0.8}),
    ("demo", "feature noise 0.35", {"feature_noise": 0.35}),
    ("demo", "feature noise 1.0", {"feature_noise": 1.0}),
    ("demo", "hard boundaries (softness 0)", {"boundary_softness": 0.0}),
    ("demo", "no background activity", {"background_fill": 0.0}),
    ("demo", "no shot cuts", {"cuts_per_minute": 0.0}),
    ("demo", "exact labels (jitter 0)", {"label_jitter": 0}),
    ("control", "defaults (none of the problems)", {}),
    ("qvh", "defaults (real val annotations)", {}),
    (
        "qvh",
        "v1 world (no background, cuts or jitter)",
        {"background_fill": 0.0, "cuts_per_minute": 0.0, "label_jitter": 0},
    ),
]


def run() -> list[tuple[str, str, str, str, str]]:
    rows = []
    val = [pair for pair in default_annotations("qvh") if pair[0] == "val"]
    with scratch_dir() as tmp:
        for preset, label, knobs in VARIANTS:
            out = Path(tmp) / "store"
            config = SynthConfig.from_preset(preset, **knobs)
            synthesize(
                out, config, val if preset == "qvh" else None, overwrite=True, show_progress=False
            )
            contrast = moment_contrast(Store.open(out), "val")
            rows.append(
                (
                    preset,
                    label,
                    f"{contrast.coherence:.3f}",
                    f"{contrast.best_outside:.3f}",
                    f"{100 * contrast.confusable:.1f} %",
                )
            )
    return rows
