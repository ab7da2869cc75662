"""Names a package exports but imports on first use, so that `import amr` or
`import amr.train.config` stays light (no torch) until a model is needed."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(package: str, exports: Mapping[str, str]) -> Callable[[str], Any]:
    """A module `__getattr__` for `package`: `exports` maps a name to the submodule (relative
    to `package`, or absolute when it starts with `amr.`) that defines it."""

    def __getattr__(name: str) -> Any:
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module = exports[name]
        module = module if module.startswith("amr.") else f"{package}.{module}"
        return getattr(importlib.import_module(module), name)

    return __getattr__
