"""Run one benchmark module in a fresh interpreter, so that its peak memory is its own.

`python -m benchmarks.child NAME` prints one JSON line: the module's `run()` result and the
process's peak resident memory (VmHWM: not RUSAGE_SELF, which Linux carries across exec).
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path


def peak_rss_mb() -> float:
    status = Path("/proc/self/status").read_text(encoding="ascii")
    return int(status.split("VmHWM:")[1].split()[0]) / 1024


if __name__ == "__main__":
    result = importlib.import_module(f"benchmarks.{sys.argv[1]}").run()
    print(json.dumps({"result": result, "peak_mb": peak_rss_mb()}))
