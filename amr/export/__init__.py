"""A corpus in the layouts the field's trainers read (docs/export.md).

`formats` declares each trainer family's layout, `records` turns rows into their annotation
lines, `files` writes the per-video and per-query `.npz` files, `readme` the commands that
train on an export, and `run` ties them together.

>>> from amr.export import ExportConfig, export_corpus
>>> export_corpus(ExportConfig(corpus="runs/demo/corpus", out="runs/demo/export",
...                            format="moment-detr"))
"""

from amr.export.formats import FORMATS, TargetFormat
from amr.export.plan import ExportConfig
from amr.export.records import RowCounts
from amr.export.run import ExportSummary, export_corpus

__all__ = ["FORMATS", "ExportConfig", "ExportSummary", "RowCounts", "TargetFormat", "export_corpus"]
