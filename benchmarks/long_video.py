"""Long videos through `Predictor`: a 1-hour video at 2 s clips (1,800 clips, 48 windows of
the model's 75 clips) and longer, with the reference model at real dims (2816/512-d, randomly
initialised: speed does not depend on the weights), CPU fp32, one query.

Each length runs in its own process, so its peak memory is its own. The prediction reads 64
windows at a time, so past 64 windows (about 1.3 h) only the video's own features (the caller's
float16 array: 10 MB an hour at 2816-d) and the per-clip saliency grow.
"""

from __future__ import annotations

import json
import subprocess
import sys

HOURS = (150 / 3600, 1.0, 4.0, 8.0)  # one window (a QVHighlights video), then hours
CLIP = 2.0

CHILD = """
import json, sys, time
import numpy as np, torch
from amr import Predictor
from amr.train import ModelConfig, MomentDETR
from benchmarks.child import peak_rss_mb
clips, repeats = int(sys.argv[1]), int(sys.argv[2])
torch.manual_seed(0)
predictor = Predictor(MomentDETR(ModelConfig(video_dim=2816, text_dim=512)), 2.0)
rng = np.random.default_rng(0)
video = np.empty((clips, 2816), np.float16)  # filled in slices: no float32 copy of it all
for start in range(0, clips, 256):
    video[start : start + 256] = rng.standard_normal((min(256, clips - start), 2816))
query = rng.standard_normal((20, 512)).astype(np.float16)
predictor.predict(video[:75], query)  # warm-up
best = float("inf")
for _ in range(repeats):
    start = time.perf_counter()
    result = predictor.predict(video, query, top_k=None)
    best = min(best, time.perf_counter() - start)
print(json.dumps({"seconds": best, "moments": len(result.moments), "saliency": len(result.saliency),
                  "peak_mb": peak_rss_mb(), "features_mb": video.nbytes / 1e6}))
"""


def _one(clips: int, repeats: int) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(clips), str(repeats)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(done.stdout.strip().splitlines()[-1])


def run():
    rows, figures = [], {}
    for hours in HOURS:
        clips = round(hours * 3600 / CLIP)
        result = _one(clips, 3 if hours <= 1 else 1)
        assert result["saliency"] == clips  # every clip scored, windows averaged
        speed = clips / result["seconds"]
        figures[hours] = (speed, result["peak_mb"])
        name = f"{hours * 60:.1f} min" if hours < 1 else f"{hours:g} h"
        rows.append((
            f"{name} video, {clips:,} clips", f"{result['features_mb']:.0f} MB of features",
            f"{result['seconds']:.2f} s", f"{speed:,.0f} clips/s",
            f"{result['peak_mb']:,.0f} MB ({result['moments']} moments)",
        ))  # fmt: skip
    one_hour, four, eight = figures[1.0], figures[4.0], figures[8.0]
    headline = {
        "stage": "Predictor: a 1-hour video (2 s clips), reference model, CPU",
        "figure": f"{one_hour[0]:,.0f} clips/s",
        "comparison": f"8 h: {eight[0]:,.0f} clips/s; peak at 4 h {four[1]:,.0f} MB, "
        f"at 8 h {eight[1]:,.0f} MB",
        "peak_mb": one_hour[1],
        "peak_of": "the 1-hour child process",
    }
    return rows, headline
