"""Hard limits on one render: loop steps, characters produced, and time.

Jinja's sandbox keeps a template away from Python's internals but not from the CPU or
memory: three nested ``{% for %}`` over 2,000 characters are eight billion steps, and
``~`` or ``replace`` can double a string on every line. Each render therefore runs under
a ``Budget``:

* **steps**: every loop iteration and every call (a macro, ``caller()``, a recursive
  ``loop()``) spends one, at most ``MAX_STEPS`` per render;
* **characters**: every piece of output (also inside macros and ``{% set %}`` blocks) and
  every string made by ``~``, ``+`` or a growing filter spends its length, at most
  ``MAX_CHARS`` per render; a single operation that would make a longer string is
  refused *before* it allocates anything;
* **time**: checked on every step, at most ``MAX_SECONDS`` per render (the backstop: the
  two counts already bound the work).

The code generator below routes loops, ``~`` and output through the environment's
``bounded_iter``/``bounded_join``/``spend`` (see ``sandbox``), which charge the budget of
the render running in this thread.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from jinja2 import nodes
from jinja2.compiler import CodeGenerator, Frame, optimizeconst
from jinja2.exceptions import SecurityError
from markupsafe import soft_str

MAX_STEPS = 10_000  # loop iterations and calls in one render
MAX_CHARS = 1_000_000  # characters produced by one render (output and intermediate)
MAX_SECONDS = 2.0  # wall time of one render


_UNITS = {"steps": "loop steps or calls", "chars": "characters", "time": "seconds"}


class LimitExceeded(SecurityError):
    """A render went over one of the limits: ``kind`` is ``steps``, ``chars`` or ``time``."""

    def __init__(self, kind: str, limit: float) -> None:
        self.kind = kind
        self.limit = int(limit) if float(limit).is_integer() else limit
        super().__init__(f"more than {self.limit:,} {_UNITS[kind]} for one message")


class Budget:
    __slots__ = ("chars", "deadline", "seconds", "steps")

    def __init__(self, seconds: float = MAX_SECONDS) -> None:
        self.steps = 0
        self.chars = 0
        self.seconds = seconds
        self.deadline = time.monotonic() + seconds

    def step(self) -> None:
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise LimitExceeded("steps", MAX_STEPS)
        if time.monotonic() > self.deadline:
            raise LimitExceeded("time", self.seconds)

    def spend(self, chars: int) -> None:
        self.chars += chars
        if self.chars > MAX_CHARS:
            raise LimitExceeded("chars", MAX_CHARS)

    def collect(self, chunks: Iterable[str]) -> str:
        """The template's output, counted as it comes (no call per piece: this is the
        per-recipient path of a run)."""
        parts = []
        for chunk in chunks:
            self.chars += len(chunk)
            if self.chars > MAX_CHARS:
                raise LimitExceeded("chars", MAX_CHARS)
            parts.append(chunk)
        return "".join(parts)


_running = threading.local()


class metered:
    """``with metered():`` around one render: its budget, in this thread."""

    def __init__(self, seconds: float = MAX_SECONDS) -> None:
        self._seconds = seconds

    def __enter__(self) -> Budget:
        _running.budget = budget = Budget(self._seconds)
        return budget

    def __exit__(self, *exc: object) -> None:
        _running.budget = None


def current() -> Budget | None:
    """The budget of the render running in this thread; ``None`` while compiling (Jinja
    folds constant expressions then: only the size checks apply)."""
    return getattr(_running, "budget", None)


def check_size(chars: int) -> None:
    """Refuse a string of ``chars`` before it is made, and charge it to the render."""
    if chars > MAX_CHARS:
        raise LimitExceeded("chars", MAX_CHARS)
    budget = current()
    if budget is not None:
        budget.spend(chars)


def spend(text: str) -> str:
    """A piece of output: charged, and passed on unchanged."""
    budget = current()
    if budget is not None:
        budget.spend(len(text))
    return text


def bounded_iter(iterable: Iterable[Any]) -> Iterator[Any]:
    budget = current()
    for item in iterable:
        if budget is not None:
            budget.step()
        yield item


def bounded_join(join: Callable[[Iterable[Any]], str], parts: Iterable[Any]) -> str:
    texts = tuple(map(soft_str, parts))
    check_size(sum(map(len, texts)))
    return join(texts)


def step() -> None:
    budget = current()
    if budget is not None:
        budget.step()


class BoundedCodeGenerator(CodeGenerator):
    """Jinja's generator with loops, ``~`` and every output going through the budget."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._iterated: set[int] = set()  # ids of the nodes a {% for %} iterates
        self._buffered = False

    def visit_For(self, node: nodes.For, frame: Frame) -> None:
        # Jinja allows no custom node types: the iterated node is marked, and wrapped
        # when it is written (each item a step, with no sandbox call on the way).
        self._iterated.add(id(node.iter))
        super().visit_For(node, frame)

    def visit(self, node: nodes.Node, *args: Any, **kwargs: Any) -> Any:
        if id(node) not in self._iterated:
            return super().visit(node, *args, **kwargs)
        self.write("environment.bounded_iter(")
        super().visit(node, *args, **kwargs)
        self.write(")")
        return None

    @optimizeconst
    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        # Jinja's own, with the join and its parts handed to the environment apart: the
        # size is known (and refused) before the joined string is made.
        if frame.eval_ctx.volatile:
            join = "(markup_join if context.eval_ctx.volatile else str_join)"
        elif frame.eval_ctx.autoescape:
            join = "markup_join"
        else:
            join = "str_join"
        self.write(f"environment.bounded_join({join}, (")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")

    # Output at the top of the template is yielded to ``Budget.collect``, which counts it;
    # output gathered into a buffer (a macro, ``{% set %}…{% endset %}``, ``{% filter %}``,
    # a ``{% call %}`` body) is charged as it is appended.
    def visit_Output(self, node: nodes.Output, frame: Frame) -> None:
        self._buffered = frame.buffer is not None
        super().visit_Output(node, frame)

    def _output_const_repr(self, group: Iterable[Any]) -> str:
        text = super()._output_const_repr(group)
        return f"environment.spend({text})" if self._buffered else text

    def _output_child_pre(self, node: nodes.Expr, frame: Frame, finalize: Any) -> None:
        if frame.buffer is not None:
            self.write("environment.spend(")
        super()._output_child_pre(node, frame, finalize)

    def _output_child_post(self, node: nodes.Expr, frame: Frame, finalize: Any) -> None:
        super()._output_child_post(node, frame, finalize)
        if frame.buffer is not None:
            self.write(")")
