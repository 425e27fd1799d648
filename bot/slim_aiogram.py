"""Import aiogram without building a validator for every Telegram type up front.

At import, ``aiogram.types`` calls ``model_rebuild`` on each of its ~450 pydantic models,
and pydantic compiles a validator for each one with its whole nested closure inlined
(``Update`` and ``Message`` alone reach most of the API). That costs about 95 MB of
resident memory per process although a mailing bot touches a few dozen types — the bulk
of a worker's memory (``bench/delivery.py`` prints it).

``install()`` must run before the first ``import aiogram``: it lets aiogram's import skip
those rebuilds, then puts the names they would have resolved (the type names aiogram
imports only under ``TYPE_CHECKING``) into the globals of aiogram's modules, so pydantic
builds each model's validator lazily on first use — the same validator, later. Models are
already marked ``defer_build`` by aiogram; only the forced rebuild is skipped.
``tests/unit/test_slim_aiogram.py`` builds every type that way to prove none is left
unresolvable when aiogram changes. If aiogram is already imported, nothing is done.
"""

from __future__ import annotations

import sys
from typing import Any

from pydantic import BaseModel

_done = False


def install() -> None:
    global _done
    if _done or "aiogram" in sys.modules:
        _done = True
        return
    _done = True
    original = BaseModel.model_rebuild.__func__  # type: ignore[attr-defined]
    names: dict[str, Any] = {}

    def deferred(cls: type[BaseModel], *args: Any, **kwargs: Any) -> bool | None:
        namespace = kwargs.get("_types_namespace")
        if cls.__module__.startswith("aiogram.") and namespace is not None and not args:
            names.update(namespace)
            return None
        result: bool | None = original(cls, *args, **kwargs)
        return result

    setattr(BaseModel, "model_rebuild", classmethod(deferred))  # noqa: B010
    try:
        import aiogram
        import aiogram.methods
        import aiogram.types  # noqa: F401
    finally:
        setattr(BaseModel, "model_rebuild", classmethod(original))  # noqa: B010
    for name, module in list(sys.modules.items()):
        if module is None or not name.startswith("aiogram."):
            continue
        scope = module.__dict__
        for key, value in names.items():
            scope.setdefault(key, value)
