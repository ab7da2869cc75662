"""The experiment's figures with intervals: each arm's test scores, its gain over the baseline
(and over AMR, for ablations) paired by seed and query, the subsets a synthetic store allows
(queries with a look-alike twin; scoring against the true extents), and the hypotheses of
docs/benchmark.md judged from them."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np

from amr.experiment.records import ArmResult
from amr.experiment.scoring import Scorer
from amr.experiment.stats import Interval, bootstrap

METRICS = {"R1@0.7": "MR-full-R1@0.7", "mAP": "MR-full-mAP"}
CONTROL_BAND = 1.0  # H4: "within ±1 R1@0.7"


@dataclass(frozen=True)
class ArmFigures:
    name: str
    title: str
    group: str
    fraction: float
    seeds: tuple[int, ...]
    test: dict[str, Interval]  # metric -> level with its interval
    vs_baseline: dict[str, Interval] = field(default_factory=dict)
    vs_amr: dict[str, Interval] = field(default_factory=dict)
    twin: dict[str, Interval] = field(default_factory=dict)  # R1@0.7 on twin / no-twin queries
    epochs: tuple[float, ...] = ()  # mean epochs per stage
    stopped: tuple[str, ...] = ()  # how each stage's runs ended, over seeds
    samples: float = 0.0
    minutes: float = 0.0


class Analysis:
    """Per-query test scores of every (arm, fraction, seed), and the figures built on them."""

    def __init__(self, results: list[ArmResult], scorer: Scorer):
        self.results = {(r.arm.name, r.fraction, r.seed): r for r in results}
        self.scorer = scorer
        self.twin_mask = scorer.twin_mask()
        self.has_truth = scorer.true_extents is not None
        self.fractions = sorted({r.fraction for r in results})

    @cache  # noqa: B019 - one Analysis per report; the cache dies with it
    def _scores(self, run: Path, true_extents: bool) -> dict[str, np.ndarray]:
        return self.scorer.per_query(run, true_extents)

    def seeds(self, arm: str, fraction: float) -> tuple[int, ...]:
        return tuple(sorted(s for a, f, s in self.results if a == arm and f == fraction))

    def matrix(
        self, arm: str, fraction: float, metric: str, seeds, true_extents: bool = False
    ) -> np.ndarray:
        """(seeds, test queries) per-query scores of the arm."""
        rows = [
            self._scores(self.results[(arm, fraction, s)].scored, true_extents)[METRICS[metric]]
            for s in seeds
        ]
        return np.stack(rows)

    def level(self, arm: str, fraction: float, metric: str) -> Interval:
        seeds = self.seeds(arm, fraction)
        return bootstrap([(1.0, self.matrix(arm, fraction, metric, seeds))])

    def gain(
        self,
        arm: str,
        other: str,
        fraction: float,
        metric: str = "R1@0.7",
        mask: np.ndarray | None = None,
        true_extents: bool = False,
    ) -> Interval | None:
        """arm minus other, paired by seed and query (on the queries in `mask`)."""
        seeds = tuple(sorted(set(self.seeds(arm, fraction)) & set(self.seeds(other, fraction))))
        if not seeds:
            return None
        diff = self.matrix(arm, fraction, metric, seeds, true_extents) - self.matrix(
            other, fraction, metric, seeds, true_extents
        )
        return bootstrap([(1.0, diff if mask is None else diff[:, mask])])

    def difference_of_gains(
        self, arm: str, other: str, fraction: float, split: str
    ) -> Interval | None:
        """H2's figures: the R1@0.7 gain on twin queries minus the gain on the others
        (split="twin"), or the gain against the true extents minus the gain against the
        labels (split="truth")."""
        seeds = tuple(sorted(set(self.seeds(arm, fraction)) & set(self.seeds(other, fraction))))
        if not seeds:
            return None

        def diff(true_extents: bool) -> np.ndarray:
            return self.matrix(arm, fraction, "R1@0.7", seeds, true_extents) - self.matrix(
                other, fraction, "R1@0.7", seeds, true_extents
            )

        if split == "twin":
            if self.twin_mask is None or not self.twin_mask.any() or self.twin_mask.all():
                return None
            d = diff(False)
            return bootstrap([(1.0, d[:, self.twin_mask]), (-1.0, d[:, ~self.twin_mask])])
        if not self.has_truth:
            return None
        return bootstrap([(1.0, diff(True) - diff(False))])

    def figures(self, arm_name: str, fraction: float) -> ArmFigures:
        runs = [
            r for (a, f, _), r in sorted(self.results.items()) if a == arm_name and f == fraction
        ]
        arm = runs[0].arm
        test = {m: self.level(arm_name, fraction, m) for m in METRICS}
        vs_baseline, vs_amr, twin = {}, {}, {}
        for metric in METRICS:
            for other, into in (("baseline", vs_baseline), ("amr", vs_amr)):
                if arm_name != other and self.seeds(other, fraction):
                    value = self.gain(arm_name, other, fraction, metric)
                    if value is not None:
                        into[metric] = value
        if self.twin_mask is not None and self.twin_mask.any():
            seeds = self.seeds(arm_name, fraction)
            r1 = self.matrix(arm_name, fraction, "R1@0.7", seeds)
            twin["twin"] = bootstrap([(1.0, r1[:, self.twin_mask])])
            if not self.twin_mask.all():
                twin["no twin"] = bootstrap([(1.0, r1[:, ~self.twin_mask])])
        n_stages = len(runs[0].runs)
        return ArmFigures(
            name=arm_name,
            title=arm.title,
            group=arm.group,
            fraction=fraction,
            seeds=tuple(r.seed for r in runs),
            test=test,
            vs_baseline=vs_baseline,
            vs_amr=vs_amr,
            twin=twin,
            epochs=tuple(statistics.fmean(r.runs[i].epochs for r in runs) for i in range(n_stages)),
            stopped=tuple(_tally(r.runs[i].stopped for r in runs) for i in range(n_stages)),
            samples=statistics.fmean(r.samples for r in runs),
            minutes=statistics.fmean(r.seconds for r in runs) / 60,
        )

    def all_figures(self) -> list[ArmFigures]:
        order = {name: i for i, name in enumerate(dict.fromkeys(a for a, _, _ in self.results))}
        keys = sorted({(f, a) for a, f, _ in self.results}, key=lambda k: (k[0], order[k[1]]))
        return [self.figures(arm, fraction) for fraction, arm in keys]


def _tally(values) -> str:
    counts: dict[str, int] = {}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    return ", ".join(f"{n}× {v}" for v, n in counts.items())


# -- the hypotheses -------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    name: str
    claim: str
    verdict: str  # "holds", "does not hold", "inconclusive", "not run"
    evidence: str
    rests_on: tuple[tuple[str, float], ...] = ()  # the (arm, fraction) runs it is judged on


def _direction(interval: Interval | None) -> str:
    if interval is None:
        return "missing"
    if interval.low > 0:
        return "above"
    if interval.high < 0:
        return "below"
    return "spans 0"


def hypotheses(analysis: Analysis, control_world: bool) -> list[Verdict]:
    """H1–H4 as pre-registered in docs/benchmark.md (H4 only on the control world)."""
    smallest = min(analysis.fractions) if analysis.fractions else None
    if control_world:
        gain = analysis.gain("amr", "baseline", smallest) if smallest is not None else None
        if gain is None:
            return [Verdict("H4", CLAIMS["H4"], "not run", "no amr and baseline runs")]
        inside = gain.low >= -CONTROL_BAND and gain.high <= CONTROL_BAND
        outside = gain.low > CONTROL_BAND or gain.high < -CONTROL_BAND
        verdict = "holds" if inside else "does not hold" if outside else "inconclusive"
        runs = (("amr", smallest), ("baseline", smallest))
        return [Verdict("H4", CLAIMS["H4"], verdict, f"Δ R1@0.7 at {smallest:g}: {gain}", runs)]
    return [_h1(analysis), _h2(analysis, smallest), _h3(analysis, smallest)]


CLAIMS = {
    "H1": "AMR beats the baseline at 10 % and 25 % of train, and the gain shrinks as data grows",
    "H2": "the gain is larger on queries whose video holds a look-alike twin, and on boundary "
    "accuracy against the true extents",
    "H3": "same-video negatives beat no negatives on the twin subset",
    "H4": "on the control world the gain is within ±1 R1@0.7",
}


def _h1(analysis: Analysis) -> Verdict:
    gains = {f: analysis.gain("amr", "baseline", f) for f in analysis.fractions}
    evidence = "; ".join(f"Δ R1@0.7 at {f:g}: {g}" for f, g in gains.items() if g is not None)
    scarce = [gains.get(f) for f in (0.1, 0.25)]
    if any(g is None for g in scarce) or gains.get(1.0) is None:
        return Verdict("H1", CLAIMS["H1"], "not run", evidence or "fractions missing")
    directions = [_direction(g) for g in scarce]
    shrinks = scarce[0].value > scarce[1].value > gains[1.0].value  # type: ignore[union-attr]
    if "below" in directions or (directions == ["above", "above"] and not shrinks):
        verdict = "does not hold"
    elif directions == ["above", "above"]:
        verdict = "holds"
    else:
        verdict = "inconclusive"
    runs = tuple((arm, f) for f in (0.1, 0.25, 1.0) for arm in ("amr", "baseline"))
    return Verdict("H1", CLAIMS["H1"], verdict, evidence, runs)


def _h2(analysis: Analysis, fraction: float | None) -> Verdict:
    if fraction is None:
        return Verdict("H2", CLAIMS["H2"], "not run", "")
    twin = analysis.difference_of_gains("amr", "baseline", fraction, "twin")
    truth = analysis.difference_of_gains("amr", "baseline", fraction, "truth")
    if twin is None or truth is None:
        return Verdict("H2", CLAIMS["H2"], "not run", "needs a synthetic store with twins")
    directions = [_direction(twin), _direction(truth)]
    verdict = (
        "holds"
        if directions == ["above", "above"]
        else "does not hold"
        if "below" in directions
        else "inconclusive"
    )
    evidence = (
        f"at {fraction:g}: gain on twin queries minus gain on the others {twin}; gain against "
        f"the true extents minus gain against the labels {truth}"
    )
    return Verdict(
        "H2", CLAIMS["H2"], verdict, evidence, (("amr", fraction), ("baseline", fraction))
    )


def _h3(analysis: Analysis, fraction: float | None) -> Verdict:
    mask = analysis.twin_mask
    if fraction is None or mask is None or not mask.any():
        return Verdict("H3", CLAIMS["H3"], "not run", "needs a synthetic store with twins")
    gain = analysis.gain("amr", "no-negatives", fraction, mask=mask)
    if gain is None:
        return Verdict("H3", CLAIMS["H3"], "not run", "no no-negatives runs")
    direction = _direction(gain)
    verdict = {"above": "holds", "below": "does not hold"}.get(direction, "inconclusive")
    evidence = f"amr − no-negatives, twin queries: {gain}"
    return Verdict(
        "H3", CLAIMS["H3"], verdict, evidence, (("amr", fraction), ("no-negatives", fraction))
    )
