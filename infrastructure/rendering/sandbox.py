"""The Jinja2 environment message templates run in: recipient attributes and nothing else.

On top of Jinja's ``ImmutableSandboxedEnvironment`` (no ``__class__``/``__globals__``
walks, no mutation of values):

* no globals (``range``, ``cycler``, ``lipsum`` … are gone) and only text filters, so a
  template can read the attributes mapping and format it, nothing more;
* no attributes or methods of values: ``{{ a.b }}`` reads the key ``b`` of a mapping,
  and ``{{ name.upper() }}`` is refused (use ``{{ name|upper }}``);
* ``*``, ``**`` and string ``%`` are bounded, so one line cannot allocate gigabytes;
* no ``|safe``: values in a body are always HTML-escaped (the body is Telegram HTML), so
  a recipient's name can never break the message's markup; a subject is plain text and
  is rendered unescaped (``O'Brien & Sons``), in an environment of its own.
"""

from __future__ import annotations

from typing import Any

from jinja2 import ChainableUndefined
from jinja2.exceptions import SecurityError
from jinja2.filters import FILTERS
from jinja2.runtime import Context, LoopContext
from jinja2.sandbox import ImmutableSandboxedEnvironment

SAFE_FILTERS = frozenset(
    {
        "abs", "capitalize", "count", "d", "default", "e", "escape", "first", "float",
        "int", "join", "last", "length", "lower", "replace", "round", "string",
        "striptags", "title", "trim", "truncate", "upper", "wordcount",
    }
)  # fmt: skip
MAX_REPEAT = 10_000  # characters or items a `*` may produce
MAX_EXPONENT = 64


class AttributesOnlyEnvironment(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**", "%"})

    def __init__(self, *, autoescape: bool = True) -> None:
        # ChainableUndefined: a missing attribute (even `a.b.c`) renders as "".
        # autoescape=False only for plain text (an email subject), never for a body.
        super().__init__(autoescape=autoescape, undefined=ChainableUndefined, auto_reload=False)
        self.globals.clear()
        self.filters = {name: FILTERS[name] for name in SAFE_FILTERS}

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        # `loop.index` and friends stay usable inside {% for %}; nothing else is.
        if isinstance(obj, LoopContext):
            return not attr.startswith("_") and super().is_safe_attribute(obj, attr, value)
        return False

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and isinstance(right, int | float) and abs(right) > MAX_EXPONENT:
            raise SecurityError(f"exponent above {MAX_EXPONENT}")
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                sized = isinstance(seq, str | list | tuple) and isinstance(times, int)
                if sized and len(seq) * times > MAX_REPEAT:
                    raise SecurityError(f"repetition above {MAX_REPEAT}")
        if operator == "%" and isinstance(left, str):
            raise SecurityError("string formatting with % is not available")
        return super().call_binop(context, operator, left, right)
