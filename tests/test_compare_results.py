"""tools/compare_results.py: regenerated runs are checked against the published ones run by
run, and a run whose figures moved fails the check."""

import json
import subprocess
import sys
from pathlib import Path

TOOL = Path(__file__).resolve().parents[1] / "tools" / "compare_results.py"


def _record(arm, seed, r1, minutes=1.0, samples=1000):
    return {"arm": arm, "fraction": 0.1, "seed": seed, "test": {"MR-full-R1@0.7": r1},
            "val": {"MR-full-R1@0.7": 10.0}, "epochs": [10, 16], "minutes": minutes,
            "samples": samples}  # fmt: skip


def _compare(tmp_path, old, new):
    paths = []
    for name, records in (("old.json", old), ("new.json", new)):
        (tmp_path / name).write_text(json.dumps(records))
        paths.append(str(tmp_path / name))
    return subprocess.run([sys.executable, str(TOOL), *paths], capture_output=True, text=True)


def test_the_same_runs_pass_whatever_their_minutes_and_sample_counts(tmp_path):
    done = _compare(tmp_path, [_record("amr", 0, 45.44), _record("amr", 1, 45.31)],
                    [_record("amr", 0, 45.44, minutes=9.0, samples=1032)])  # fmt: skip
    assert done.returncode == 0, done.stdout
    assert "0.1 · seed 0 · amr: same (samples 1000 → 1032)" in done.stdout
    assert "only in" in done.stdout and "amr 0.1/1" in done.stdout
    assert "1 runs in both: 1 the same, 0 different" in done.stdout


def test_a_run_whose_figures_moved_fails_and_says_which(tmp_path):
    moved = {**_record("baseline", 0, 20.91), "machines": ["AMD EPYC, AVX2, 2 threads"]}
    done = _compare(tmp_path, [_record("baseline", 0, 20.38)], [moved])
    assert done.returncode == 1
    assert "DIFFERS: test.MR-full-R1@0.7: 20.38 → 20.91" in done.stdout
    assert "(machines not recorded → AMD EPYC, AVX2, 2 threads)" in done.stdout
