"""What an export reads and where it writes: the source store, the evaluation splits, and
the staging directory an export is built in (and resumed from)."""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from amr.corpus.kinds import AUGMENTED
from amr.corpus.reader import Corpus
from amr.corpus.schema import MANIFEST
from amr.datasets.store import META_FILE, Store
from amr.errors import AmrError
from amr.fileio import check_output_dir, settle_retired, write_json

EXPORT_FILE = "export.json"
RUN_FILE = "run.json"  # in the staging directory: what a --resume must match
ROWS = {
    "all": None,  # every kind
    "augmented": set(AUGMENTED),
    "real": {"original"},
}


@dataclass(frozen=True)
class ExportConfig:
    corpus: Path
    out: Path
    format: str
    store: Path | None = None  # default: the store beside the corpus that made it
    rows: str = "all"  # all | augmented | real
    eval_splits: tuple[str, ...] | None = None  # default: val, and test when labelled
    max_v_l: int = 75  # the loaders' clip limit: longer rows are counted and warned about
    overwrite: bool = False
    resume: bool = False


def find_store(corpus: Corpus, given: Path | None) -> Path:
    """The store the corpus was made from: `given` (checked), else the directory beside the
    corpus whose store.json has the manifest's fingerprint."""
    source = corpus.manifest["source"]
    wanted = source.get("fingerprint")
    if given is not None:
        meta_path = Path(given) / META_FILE
        if meta_path.is_file() and _fingerprint(meta_path) != wanted:
            raise AmrError(
                f"{given}: not the store {corpus.root} was made from (fingerprint "
                f"{_fingerprint(meta_path)}, the corpus names {wanted})"
            )
        return Path(given)
    parent = corpus.root.resolve().parent
    for candidate in sorted(p for p in parent.iterdir() if p.is_dir()):
        if (candidate / META_FILE).is_file() and _fingerprint(candidate / META_FILE) == wanted:
            return candidate
    raise AmrError(
        f"{corpus.root}: made from store {source.get('store')!r} ({wanted}), and no directory "
        f"beside it is that store; pass --store"
    )


def _fingerprint(meta_path: Path) -> str | None:
    try:
        return json.loads(meta_path.read_text(encoding="utf-8")).get("fingerprint")
    except (OSError, ValueError, AttributeError):
        return None


def eval_splits(store: Store, given: tuple[str, ...] | None, own: str | None) -> list[str]:
    labelled = [s for s, info in store.meta.splits.items() if info.labeled and s != own]
    if given is None:
        return [s for s in ("val", "test") if s in labelled]
    for split in given:
        if split not in store.meta.splits:
            known = ", ".join(store.meta.splits)
            raise AmrError(f"{store.root}: no split {split!r} to evaluate on (splits: {known})")
        if split == own:
            raise AmrError(f"--eval-split {split}: the corpus was made from that split")
        if split not in labelled:
            raise AmrError(f"{store.root}: split {split!r} has no labels to evaluate on")
    return list(dict.fromkeys(given))


def run_key(corpus: Corpus, config: ExportConfig, splits: list[str]) -> dict[str, Any]:
    """What an export depends on; a --resume continues only an export of the same."""
    manifest = hashlib.sha256((corpus.root / MANIFEST).read_bytes()).hexdigest()
    return {
        "corpus": f"sha256:{manifest}",
        "format": config.format,
        "rows": config.rows,
        "eval_splits": splits,
        "max_v_l": config.max_v_l,
    }


def prepare_staging(out: Path, config: ExportConfig, key: dict[str, Any]) -> Path:
    """Check `out` and return the staging directory (fresh, or the one to resume)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    settle_retired(out.parent, out.name)
    if out.exists() and not out.is_dir():
        raise AmrError(f"{out}: is a file; --out takes a directory")
    check_output_dir(
        out,
        EXPORT_FILE,
        config.overwrite,
        refuse="holds files amr did not export; choose another --out",
        replace="holds an export already; pass --overwrite to replace it",
    )
    staging = out.parent / f".{out.name}.exporting"
    if staging.exists():
        if config.resume:
            try:
                earlier = json.loads((staging / RUN_FILE).read_text(encoding="utf-8"))
            except (OSError, ValueError):
                earlier = None
            if earlier != key:
                raise AmrError(
                    f"{staging}: an unfinished export of another corpus or other options; "
                    "pass --overwrite instead of --resume to start over"
                )
            for partial in staging.rglob(".*.tmp"):  # a file cut short by a kill
                partial.unlink()
            return staging
        if not config.overwrite:
            raise AmrError(
                f"{staging}: an unfinished export; pass --resume to finish it or --overwrite "
                "to start over"
            )
        shutil.rmtree(staging)
    staging.mkdir()
    write_json(staging / RUN_FILE, key)
    return staging
