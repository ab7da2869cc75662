"""Counter-based random numbers: the uniform for (seed, sample id, stream, index), in bulk.

Every random choice of a sample is a pure function of the seed, its sample id, a named stream
(one per kind of choice) and an index inside that stream. So any set of samples can be generated
together with array operations, in any batch and any order, and each gets the same numbers as it
would alone: this is what makes --workers, --shard and --resume produce identical bytes.

The mixing function is splitmix64's finaliser, applied in uint64 arithmetic (which wraps),
once per input in turn.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_SEED_SALT = np.uint64(0x632BE59BD9B4E019)
_STREAM_STEP = np.uint64(0xD6E8FEB86659FD93)
_S30, _S27, _S31, _S11 = (np.uint64(s) for s in (30, 27, 31, 11))
_MASK64 = (1 << 64) - 1


def _mix(x: np.ndarray) -> np.ndarray:
    x = x ^ (x >> _S30)
    x = x * _M1
    x = x ^ (x >> _S27)
    x = x * _M2
    return x ^ (x >> _S31)


@dataclass(frozen=True)
class Draws:
    """Uniforms in [0, 1) addressed by (sample id, stream, index) under one seed."""

    seed: int

    def bits(self, ids: np.ndarray, stream: int, index: np.ndarray | int = 0) -> np.ndarray:
        with np.errstate(over="ignore"):
            # chained, one input at a time, so that no two addresses can collide by symmetry
            seed = np.asarray([self.seed & _MASK64], dtype=np.uint64) * _GOLDEN + _SEED_SALT
            key = _mix(_mix(seed) + np.asarray(ids, dtype=np.int64).astype(np.uint64) * _GOLDEN)
            key = _mix(key + np.uint64(stream + 1) * _STREAM_STEP)
            return _mix(key + np.asarray(index, np.int64).astype(np.uint64) * _GOLDEN)

    def uniform(self, ids: np.ndarray, stream: int, index: np.ndarray | int = 0) -> np.ndarray:
        """float64 uniforms in [0, 1), shaped like ids and index broadcast together."""
        return (self.bits(ids, stream, index) >> _S11).astype(np.float64) * 2.0**-53

    def integers(
        self, ids: np.ndarray, stream: int, high: np.ndarray | int, index: np.ndarray | int = 0
    ) -> np.ndarray:
        """int64 in [0, high) (high >= 1)."""
        high = np.asarray(high, dtype=np.int64)
        drawn = np.floor(self.uniform(ids, stream, index) * high).astype(np.int64)
        return np.minimum(drawn, high - 1)
