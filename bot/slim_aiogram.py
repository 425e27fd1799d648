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
unresolvable when aiogram changes. If aiogram is already imported, this is skipped and
``is_slim()`` says so (a unit test checks the test process itself).

It also keeps the ``Response[...]`` models aiogram creates for each answer, which pydantic
would otherwise let the garbage collector drop and rebuild (``_pin_responses``),
remembers the parameter names aiogram reads from each handler's and filter's signature
(``_remember_signatures``) and gives every aiogram HTTP session the same TLS context
(``_share_tls_context``).
"""

from __future__ import annotations

import inspect
import ssl
import sys
import types
from collections.abc import Callable
from contextlib import suppress
from typing import Any

from pydantic import BaseModel

# The releases this module (and infrastructure/channels/telegram.py's narrowed
# ``SendMessage`` answers) were checked against; pyproject.toml pins these minor versions
# and a unit test compares them with what is installed.
CHECKED_WITH = {"aiogram": "3.31", "pydantic": "2.13"}

_done = False
_slim = False


def install() -> None:
    global _done, _slim
    if _done:
        return
    _done = True
    if "aiogram" not in sys.modules:
        _defer_builds()
        _slim = True
    _pin_responses()
    _remember_signatures()
    _share_tls_context()


def is_slim() -> bool:
    """Whether aiogram was first imported through ``install()`` in this process."""
    return _slim


def _defer_builds() -> None:
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


def _pin_responses() -> None:
    """Keep every ``Response[<returned type>]`` model aiogram creates.

    aiogram parses each answer of the Bot API as ``Response[method.__returning__]``, and
    pydantic caches parametrised models only weakly: each full garbage collection (every
    few seconds while sending) dropped them, and the next answer rebuilt its model —
    ~15 ms for ``Response[Message]``, ~300 ms for ``Response[list[Update]]`` on a slow
    machine, a stall of the bot's event loop each time (bench/delivery.py, ``/start``
    p95). There is one such model per return type of a Bot API method, a few dozen at
    most."""
    from aiogram.methods.base import Response

    parametrise = vars(BaseModel)["__class_getitem__"].__func__
    pinned: dict[Any, Any] = {}

    def __class_getitem__(cls: type[BaseModel], params: Any) -> Any:
        if cls is Response:  # asked once per answer: a dict lookup beats pydantic's own
            with suppress(KeyError, TypeError):
                return pinned[params]
        model = parametrise(cls, params)
        if cls is Response:
            with suppress(TypeError):  # not hashable: pydantic does not cache it either
                pinned.setdefault(params, model)
        return model

    Response.__class_getitem__ = classmethod(__class_getitem__)  # type: ignore[assignment,method-assign]


def _remember_signatures() -> None:
    """Work out the parameters of each handler's and filter's code once per process.

    aiogram's ``CallableObject`` calls ``inspect.signature`` on every callback it wraps,
    to pass each one only the keyword arguments it names. Building the dispatcher and the
    handlers' routers wraps ~1,300 callbacks (785 of them the same ``lambda: True`` that
    each of a router's 28 event observers holds), ~45 ms of CPU per bot start, which the
    end-to-end tests pay ~450 times a run. The names and kinds of a Python function's
    parameters are fixed by its code object (defaults and annotations do not change
    them), so a function, a method bound to one and an instance whose class's
    ``__call__`` is one get the same answer as the first time that code was seen. Other
    callables (partials, builtins, ``__signature__`` overrides) are asked as before."""
    from aiogram.dispatcher.event.handler import CallableObject

    original: Callable[[CallableObject], None] = CallableObject.__post_init__
    known: dict[tuple[str, object], tuple[frozenset[str], bool]] = {}

    def __post_init__(self: CallableObject) -> None:
        key = _signature_key(inspect.unwrap(self.callback))
        if key is None or key not in known:
            original(self)
            if key is not None:
                known[key] = (frozenset(self.params), self.varkw)
            return
        callback = inspect.unwrap(self.callback)
        self.awaitable = inspect.isawaitable(callback) or inspect.iscoroutinefunction(callback)
        params, self.varkw = known[key]
        self.params = set(params)

    CallableObject.__post_init__ = __post_init__  # type: ignore[method-assign]


def _signature_key(callback: object) -> tuple[str, object] | None:
    """What fixes ``inspect.signature(callback)``'s parameter names and kinds, or None
    when that is not only a plain function's code object."""
    if isinstance(callback, types.FunctionType):
        return None if _overridden(callback) else ("function", callback.__code__)
    if isinstance(callback, types.MethodType):
        func = callback.__func__
        if isinstance(func, types.FunctionType) and not _overridden(func):
            return ("method", func.__code__)
        return None
    if isinstance(callback, type) or _overridden(callback):
        return None
    for klass in type(callback).__mro__:
        if any(name in klass.__dict__ for name in _OVERRIDES):
            return None
        call = klass.__dict__.get("__call__")
        if call is not None:
            if isinstance(call, types.FunctionType) and not _overridden(call):
                return ("instance", call.__code__)
            return None
    return None


_OVERRIDES = ("__signature__", "__wrapped__")  # what inspect.signature reads before the code


def _overridden(obj: object) -> bool:
    """Whether ``obj`` itself carries one of ``_OVERRIDES`` (a function's or an instance's
    own attributes)."""
    own = getattr(obj, "__dict__", None)
    return isinstance(own, dict) and any(name in own for name in _OVERRIDES)


def _share_tls_context() -> None:
    """aiogram's ``AiohttpSession`` loads certifi's CA bundle into a new ``SSLContext``
    for each ``Bot`` it is given: ~25 ms of CPU (``load_verify_locations``) at every bot
    start and for each delivery worker's bot. The same call now returns the context made
    the first time: aiohttp shares one context between its connections anyway, and
    nothing changes a context once it is made. Only aiogram's session module sees this
    ``ssl``; every other caller gets a context of its own as before."""
    from aiogram.client.session import aiohttp as session_module

    made: dict[tuple[object, ...], ssl.SSLContext] = {}

    def create_default_context(
        purpose: ssl.Purpose = ssl.Purpose.SERVER_AUTH,
        *,
        cafile: str | None = None,
        capath: str | None = None,
        cadata: str | bytes | None = None,
    ) -> ssl.SSLContext:
        key = (purpose, cafile, capath, cadata)
        if key not in made:
            made[key] = ssl.create_default_context(
                purpose, cafile=cafile, capath=capath, cadata=cadata
            )
        return made[key]

    view = types.ModuleType("ssl", ssl.__doc__)
    view.__dict__.update(vars(ssl))
    view.create_default_context = create_default_context  # type: ignore[attr-defined]
    session_module.ssl = view  # type: ignore[attr-defined]
