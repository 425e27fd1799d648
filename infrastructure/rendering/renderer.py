"""``JinjaRenderer``: message templates filled per recipient, in a sandbox, with a cache.

A million-recipient run renders the same body a million times, so compiled templates
are kept in a small LRU keyed by the template text; a cached render costs microseconds.
Most templates are text and ``{{ name }}`` placeholders only: those are filled without
Jinja's machinery (``Pieces``) when every value they read is text, with the same result
(escaped in a body, as it is in a subject; a missing value is empty); anything else —
a filter, a tag, a number, a value over the limits — goes through Jinja as before.
Attribute names may be Cyrillic (``{{ город }}``): Jinja 3 reads Unicode identifiers.
Every render runs under the hard limits of ``limits`` (loop steps, characters, time); a
render over one raises ``content-template-steps``, ``-chars`` or ``-time``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import lru_cache

from jinja2 import Template, TemplateSyntaxError, meta, nodes
from markupsafe import escape

from domain.errors import InvalidInput
from infrastructure.rendering import limits
from infrastructure.rendering.sandbox import AttributesOnlyEnvironment

CACHE_SIZE = 256
# Templates come from a manager's text, never from files: there is nothing to load.
_LOADING_TAGS = (nodes.Extends, nodes.Include, nodes.Import, nodes.FromImport)


class JinjaRenderer:
    """``domain.ports.rendering.MessageRenderer`` on a Jinja2 sandbox (see ``sandbox``)."""

    def __init__(self, cache_size: int = CACHE_SIZE, seconds: float = limits.MAX_SECONDS) -> None:
        self._seconds = seconds  # the time limit of one render (``limits``)
        self._env = AttributesOnlyEnvironment()
        self._text_env = AttributesOnlyEnvironment(autoescape=False)
        # lru_cache on a bound function, not on the method: the cache dies with the renderer.
        self._compiled: Callable[[str], Template] = lru_cache(maxsize=cache_size)(self._compile)
        self._compiled_text: Callable[[str], Template] = lru_cache(maxsize=cache_size)(
            self._compile_text
        )
        self._pieces: Callable[[str], Pieces | None] = lru_cache(maxsize=cache_size)(self._cut)

    def check(self, template: str) -> None:
        self._compiled(template)

    def placeholders(self, template: str) -> set[str]:
        return set(meta.find_undeclared_variables(self._parse(template)))

    def render(self, template: str, attributes: Mapping[str, object]) -> str:
        pieces = self._pieces(template)
        filled = pieces.fill(attributes, escaped=True) if pieces is not None else None
        if filled is not None:
            return filled
        return _fill(self._compiled(template), attributes, self._seconds)

    def render_text(self, template: str, attributes: Mapping[str, object]) -> str:
        pieces = self._pieces(template)
        filled = pieces.fill(attributes, escaped=False) if pieces is not None else None
        if filled is not None:
            return filled
        return _fill(self._compiled_text(template), attributes, self._seconds)

    def _cut(self, template: str) -> Pieces | None:
        try:
            tree = self._parse(template)
        except InvalidInput:
            return None  # Jinja's path says why
        return Pieces.of(tree)

    def _parse(self, template: str) -> nodes.Template:
        try:
            tree = self._env.parse(template)
        except TemplateSyntaxError as error:
            raise InvalidInput("content-template-error", detail=_describe(error)) from None
        if next(tree.find_all(_LOADING_TAGS), None) is not None:
            raise InvalidInput("content-template-error", detail="extends/include/import")
        # Jinja binds `self` to the template object, whose repr would reach the recipient.
        if any(name.name == "self" for name in tree.find_all(nodes.Name)):
            raise InvalidInput("content-template-error", detail="'self' is reserved")
        return tree

    def _compile(self, template: str) -> Template:
        return _build(self._env, self._parse(template))

    def _compile_text(self, template: str) -> Template:
        return _build(self._text_env, self._parse(template))


class Pieces:
    """A template of text and ``{{ name }}`` placeholders only, cut into its pieces: its
    text as Jinja parsed it (whitespace control applied), and the names in between."""

    __slots__ = ("_parts",)

    def __init__(self, parts: tuple[tuple[bool, str], ...]) -> None:
        self._parts = parts  # (is a name, text or name)

    @classmethod
    def of(cls, tree: nodes.Template) -> Pieces | None:
        parts: list[tuple[bool, str]] = []
        for node in tree.body:
            if not isinstance(node, nodes.Output):
                return None
            for item in node.nodes:
                if type(item) is nodes.TemplateData:
                    parts.append((False, item.data))
                elif type(item) is nodes.Name and item.ctx == "load":
                    parts.append((True, item.name))
                else:
                    return None
        return cls(tuple(parts))

    def fill(self, attributes: Mapping[str, object], *, escaped: bool) -> str | None:
        """What Jinja renders, or ``None`` where only Jinja can say: a value that is not
        text (a number, ``None``: Jinja's own ``str``), or a result over ``MAX_CHARS``."""
        out: list[str] = []
        for is_name, text in self._parts:
            if not is_name:
                out.append(text)
            elif text in attributes:
                value = attributes[text]
                if type(value) is not str:
                    return None
                out.append(escape(value) if escaped else value)
            # a missing value: ChainableUndefined renders nothing
        filled = "".join(out)
        return filled if len(filled) <= limits.MAX_CHARS else None


def _build(env: AttributesOnlyEnvironment, tree: nodes.Template) -> Template:
    try:
        return env.from_string(tree)
    except TemplateSyntaxError as error:  # e.g. an unknown or forbidden filter
        raise InvalidInput("content-template-error", detail=_describe(error)) from None


def _fill(compiled: Template, attributes: Mapping[str, object], seconds: float) -> str:
    try:
        with limits.metered(seconds) as budget:
            # What Template.render does, with the output counted while it is made.
            context = compiled.new_context(dict(attributes))
            return budget.collect(compiled.root_render_func(context))
    except limits.LimitExceeded as error:  # content-template-steps, -chars or -time
        raise InvalidInput(
            f"content-template-{error.kind}", limit=error.limit, detail=str(error)
        ) from None
    except Exception as error:  # a template is user code: any failure is the user's
        raise InvalidInput("content-template-error", detail=_describe(error)) from None


def _describe(error: Exception) -> str:
    """Line and message; never a traceback or a value's repr beyond what Jinja says."""
    message = getattr(error, "message", None) or str(error) or type(error).__name__
    lineno = getattr(error, "lineno", None)
    return f"line {lineno}: {message}" if lineno else message
