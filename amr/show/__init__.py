"""`amr show`: PNG timelines of augmented samples (`samples`) and of queries with predictions
(`queries`), drawn by `timeline`."""

from amr.show.queries import show_queries
from amr.show.samples import Selection, show_samples

__all__ = ["Selection", "show_queries", "show_samples"]
