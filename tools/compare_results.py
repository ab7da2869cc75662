"""Two experiment reports' results.json, run by run: did the same runs give the same figures?

For runs regenerated after their files were lost (docs/benchmark.md, deviations): every run in
both files must have the same test and val metrics and the same epoch counts; minutes differ.
Samples are shown when they differ but do not fail the check: before 2026-11-30 an epoch
resumed mid-way did not count the batches trained before the stop, so the published count of
an interrupted run is short by part of an epoch.

    python tools/compare_results.py OLD.json NEW.json
    git show afd5440:docs/results/results.json > /tmp/old.json
    python tools/compare_results.py /tmp/old.json runs/bench/main/results.json

Prints one line per run in both, then the runs only one file has; exit 1 when a run differs.
Float32 CPU training repeats to the digit only on the same kind of machine, so a differing
run also shows the machines that trained it on each side (results.json's `machines`; "not
recorded" before 2026-12-03).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

COMPARED = ("test", "val", "test_truth", "epochs", "stopped")


def records(path: Path) -> dict[tuple[str, float, int], dict]:
    return {(r["arm"], r["fraction"], r["seed"]): r for r in json.loads(path.read_text())}


def differences(old: dict, new: dict) -> list[str]:
    """The compared fields that differ, as 'field: old → new' (metrics key by key)."""
    found = []
    for field in COMPARED:
        a, b = old.get(field), new.get(field)
        if isinstance(a, dict) and isinstance(b, dict):
            found += [
                f"{field}.{k}: {a.get(k)} → {b.get(k)}"
                for k in sorted(set(a) | set(b))
                if a.get(k) != b.get(k)
            ]
        elif a != b:
            found.append(f"{field}: {a} → {b}")
    return found


def _machines(record: dict) -> str:
    return " then ".join(record.get("machines") or ["not recorded"])


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[0], file=sys.stderr)
        print("usage: python tools/compare_results.py OLD.json NEW.json", file=sys.stderr)
        return 2
    old, new = (records(Path(p)) for p in argv)
    same = sorted(set(old) & set(new))
    failed = 0
    for key in same:
        found = differences(old[key], new[key])
        arm, fraction, seed = key
        status = "same" if not found else "DIFFERS: " + "; ".join(found)
        if old[key].get("samples") != new[key].get("samples"):
            status += f" (samples {old[key].get('samples')} → {new[key].get('samples')})"
        if found:
            status += f" (machines {_machines(old[key])} → {_machines(new[key])})"
        print(f"{fraction:g} · seed {seed} · {arm}: {status}")
        failed += bool(found)
    for path, only in ((argv[0], set(old) - set(new)), (argv[1], set(new) - set(old))):
        if only:
            runs = ", ".join(f"{a} {f:g}/{s}" for a, f, s in sorted(only))
            print(f"only in {path}: {runs}")
    print(f"{len(same)} runs in both: {len(same) - failed} the same, {failed} different")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
