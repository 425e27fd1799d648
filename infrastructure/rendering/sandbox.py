"""The Jinja2 environment message templates run in: recipient attributes and nothing else.

On top of Jinja's ``ImmutableSandboxedEnvironment`` (no ``__class__``/``__globals__``
walks, no mutation of values):

* no globals (``range``, ``cycler``, ``lipsum`` … are gone) and only text filters, so a
  template can read the attributes mapping and format it, nothing more;
* no attributes or methods of values: ``{{ a.b }}`` reads the key ``b`` of a mapping,
  and ``{{ name.upper() }}`` is refused (use ``{{ name|upper }}``);
* ``*``, ``**`` and string ``%`` are bounded, so one line cannot allocate gigabytes;
* every render runs under hard limits on loop steps, characters produced and time
  (``limits``): ``~``, ``+``, ``replace`` and ``join`` are refused before they would make
  a string over the limit, and numbers cannot grow past ``MAX_INT_BITS``;
* no ``|safe``: values in a body are always HTML-escaped (the body is Telegram HTML), so
  a recipient's name can never break the message's markup; a subject is plain text and
  is rendered unescaped (``O'Brien & Sons``), in an environment of its own.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from jinja2 import ChainableUndefined, pass_eval_context
from jinja2.exceptions import SecurityError
from jinja2.filters import FILTERS
from jinja2.nodes import EvalContext
from jinja2.runtime import Context, LoopContext
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import soft_str

from infrastructure.rendering import limits

SAFE_FILTERS = frozenset(
    {
        "abs", "capitalize", "count", "d", "default", "e", "escape", "first", "float",
        "int", "join", "last", "length", "lower", "replace", "round", "string",
        "striptags", "title", "trim", "truncate", "upper", "wordcount",
    }
)  # fmt: skip
MAX_REPEAT = 10_000  # characters or items a `*` may produce
MAX_EXPONENT = 64
MAX_INT_BITS = 4096  # how big a number `*` and `**` may make (about 1,200 digits)


@pass_eval_context
def bounded_replace(
    eval_ctx: EvalContext, s: object, old: object, new: object, count: int | None = None
) -> str:
    """Jinja's ``replace``, refused before it makes a string over the limit."""
    text, old_text, new_text = soft_str(s), soft_str(old), soft_str(new)
    hits = text.count(old_text)
    if count is not None and count >= 0:
        hits = min(hits, count)
    limits.check_size(len(text) + hits * max(0, len(new_text) - len(old_text)))
    return FILTERS["replace"](eval_ctx, s, old, new, count)  # type: ignore[no-any-return]


@pass_eval_context
def bounded_join(
    eval_ctx: EvalContext, value: Iterable[Any], d: str = "", attribute: str | int | None = None
) -> str:
    """Jinja's ``join``, refused before it makes a string over the limit."""
    items = list(value)
    parts = sum(len(soft_str(item)) for item in items)
    limits.check_size(parts + len(soft_str(d)) * max(0, len(items) - 1))
    return FILTERS["join"](eval_ctx, items, d, attribute)  # type: ignore[no-any-return]


class AttributesOnlyEnvironment(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**", "%", "+"})
    code_generator_class = limits.BoundedCodeGenerator
    # What the generated code calls (see limits.BoundedCodeGenerator).
    bounded_iter = staticmethod(limits.bounded_iter)
    bounded_join = staticmethod(limits.bounded_join)
    spend = staticmethod(limits.spend)

    def __init__(self, *, autoescape: bool = True) -> None:
        # ChainableUndefined: a missing attribute (even `a.b.c`) renders as "".
        # autoescape=False only for plain text (an email subject), never for a body.
        super().__init__(autoescape=autoescape, undefined=ChainableUndefined, auto_reload=False)
        self.globals.clear()
        self.filters = {name: FILTERS[name] for name in SAFE_FILTERS}
        self.filters |= {"replace": bounded_replace, "join": bounded_join}

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        # `loop.index` and friends stay usable inside {% for %}; nothing else is.
        if isinstance(obj, LoopContext):
            return not attr.startswith("_") and super().is_safe_attribute(obj, attr, value)
        return False

    def call(self, context: Context, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        # A macro, caller() or a recursive loop() is a step; loop() iterates bounded too.
        limits.step()
        if isinstance(obj, LoopContext) and args:
            args = (limits.bounded_iter(args[0]), *args[1:])
        return super().call(context, obj, *args, **kwargs)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and isinstance(right, int | float) and abs(right) > MAX_EXPONENT:
            raise SecurityError(f"exponent above {MAX_EXPONENT}")
        if operator == "**" and _is_int(left) and _is_int(right) and abs(left) > 1:
            _check_bits(left.bit_length() * right)
        if operator == "*":
            if _is_int(left) and _is_int(right):
                _check_bits(left.bit_length() + right.bit_length())
            for seq, times in ((left, right), (right, left)):
                sized = isinstance(seq, str | list | tuple) and isinstance(times, int)
                if sized and len(seq) * times > MAX_REPEAT:
                    raise SecurityError(f"repetition above {MAX_REPEAT}")
                if sized:
                    limits.check_size(len(seq) * times)
        if operator == "+" and isinstance(left, str | list | tuple) and hasattr(right, "__len__"):
            limits.check_size(len(left) + len(right))
        if operator == "%" and isinstance(left, str):
            raise SecurityError("string formatting with % is not available")
        return super().call_binop(context, operator, left, right)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_bits(bits: int) -> None:
    if bits > MAX_INT_BITS:
        raise SecurityError(f"a number above {MAX_INT_BITS} bits")
