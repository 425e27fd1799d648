"""Message templates: filled per recipient, escaped, sandboxed, errors as domain errors."""

from __future__ import annotations

import pytest

from domain.errors import InvalidInput
from infrastructure.rendering import JinjaRenderer
from infrastructure.rendering.limits import MAX_CHARS
from infrastructure.rendering.sandbox import AttributesOnlyEnvironment

renderer = JinjaRenderer()
PERSON = {"name": "Анна", "город": "Москва", "items": ["a", "b"], "extra": {"k": "v"}, "n": 3}


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("Здравствуйте, {{ name }}!", "Здравствуйте, Анна!"),
        ("<b>{{ name }}</b> из {{ город }}", "<b>Анна</b> из Москва"),  # Cyrillic names work
        ("{{name}}{{ name }}{{  name  }}", "АннаАннаАнна"),
        ("{{ missing }}|{{ missing.deep.er }}|{{ missing['x'] }}", "||"),
        ("{% if city %}из {{ city }}{% else %}откуда-то{% endif %}", "откуда-то"),
        ("{% if город %}из {{ город }}{% endif %}", "из Москва"),
        ("{{ unknown|default('друг') }}, {{ name|default('друг') }}", "друг, Анна"),
        ("{{ name|upper }} {{ name|lower }} {{ 'ann smith'|title }}", "АННА анна Ann Smith"),
        ("{% for i in items %}{{ loop.index }}{{ i }}{% endfor %}", "1a2b"),
        ("{{ items|join(', ') }} {{ items|length }} {{ items|first }}", "a, b 2 a"),
        ("{{ extra.k }} {{ extra['k'] }}", "v v"),
        ("{{ n + 1 }} {{ n * 2 }} {{ 'ab' * 2 }} {{ 2 ** 3 }} {{ n % 2 }}", "4 6 abab 8 1"),
        ("{% set greeting = 'Hi' %}{{ greeting }}", "Hi"),
        (
            "No placeholders <i>at all</i> &amp; entities",
            "No placeholders <i>at all</i> &amp; entities",
        ),
        ("", ""),
    ],
)
def test_renders_attributes_into_the_template(template: str, expected: str) -> None:
    assert renderer.render(template, PERSON) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("<b>Ann</b>", "&lt;b&gt;Ann&lt;/b&gt;"),
        ("Tom & Jerry", "Tom &amp; Jerry"),
        ("\"quoted\" 'single'", "&#34;quoted&#34; &#39;single&#39;"),
        ("<a href='x'>", "&lt;a href=&#39;x&#39;&gt;"),
        (42, "42"),
        (None, "None"),
    ],
)
def test_values_are_html_escaped_so_they_cannot_break_markup(value: object, expected: str) -> None:
    assert renderer.render("{{ v }}", {"v": value}) == expected


def test_plain_text_such_as_a_subject_is_not_escaped_and_keeps_the_sandbox() -> None:
    assert renderer.render_text("For {{ v }}", {"v": "O'Brien & Sons"}) == "For O'Brien & Sons"
    with pytest.raises(InvalidInput):
        renderer.render_text("{{ v.__class__ }}{{ v|safe }}", {"v": "x"})


def test_safe_filter_cannot_switch_escaping_off() -> None:
    with pytest.raises(InvalidInput) as caught:
        renderer.render("{{ v|safe }}", {"v": "<b>x</b>"})
    assert caught.value.key == "content-template-error"
    assert "safe" in caught.value.params["detail"]


# Sandbox escapes: each either renders nothing or raises a clean domain error.
ATTACKS = [
    "{{ ''.__class__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "{{ joiner.__init__.__globals__ }}",
    "{{ namespace.__init__.__globals__ }}",
    "{{ lipsum.__globals__['os'] }}",
    "{{ range.__self__ }}",
    "{{ self.__init__.__globals__ }}",
    "{{ self }}",
    "{{ config }}{{ request }}{{ settings }}",
    "{{ name.__class__.__base__.__subclasses__() }}",
    "{{ name.upper() }}",
    "{{ '{0.__class__}'.format(name) }}",
    "{{ name|attr('__class__') }}",
    "{{ items.pop() }}",
    "{{ extra.update({'k': 1}) }}",
    "{{ loop.__class__ }}",
    "{% for x in items %}{{ loop.__init__.__globals__ }}{% endfor %}",
    "{{ range(10) }}",
    "{{ 'a' * 100000 }}",
    "{{ items * 100000 }}",
    "{{ 9 ** 9999 }}",
    "{{ '%999999999s' % name }}",
    "{% include 'secret.txt' %}",
    "{% extends 'base.html' %}",
    "{% import 'macros' as m %}",
    "{% from 'macros' import x %}",
]


@pytest.mark.parametrize("template", ATTACKS)
def test_nothing_but_the_attributes_is_reachable(template: str) -> None:
    try:
        output = renderer.render(template, PERSON)
    except InvalidInput as error:
        assert error.key == "content-template-error"
        assert isinstance(error.params["detail"], str)
        assert "Traceback" not in error.params["detail"]
    else:
        assert output == ""


@pytest.mark.parametrize(
    ("template", "detail_part"),
    [
        ("{{ name ", "line 1"),
        ("Hi\n{% if name %}", "line 2"),
        ("{% endif %}", "endif"),
        ("{{ name|nosuchfilter }}", "nosuchfilter"),
        ("{{ name|center(10) }}", "center"),
        ("{% for %}", "line 1"),
        ("{{ }}", "line 1"),
        ("{% include 'x' %}", "include"),
        ("{{ self }}", "self"),
    ],
)
def test_check_reports_syntax_errors_with_the_line(template: str, detail_part: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        renderer.check(template)
    assert caught.value.key == "content-template-error"
    assert detail_part in caught.value.params["detail"]


@pytest.mark.parametrize(
    "template", ["Hi {{ name }}", "{% if a %}{{ b|upper }}{% endif %}", "{{ город }}", "plain"]
)
def test_check_accepts_good_templates(template: str) -> None:
    renderer.check(template)


@pytest.mark.parametrize(
    ("template", "detail_part"),
    [
        ("{{ 1 / 0 }}", "division by zero"),
        ("{{ n / (n - 3) }}", "division by zero"),
        ("{{ name.upper() }}", "unsafe"),
        ("{{ missing() }}", "undefined"),
        ("{{ name + 1 }}", "str"),
    ],
)
def test_runtime_errors_become_template_errors(template: str, detail_part: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        renderer.render(template, PERSON)
    assert caught.value.key == "content-template-error"
    assert detail_part in caught.value.params["detail"]


@pytest.mark.parametrize(
    ("template", "names"),
    [
        ("Hi {{ name }}", {"name"}),
        ("{{ город }}, {{ name|default('x') }}", {"город", "name"}),
        ("{% if city %}{{ city }}{% else %}{{ country }}{% endif %}", {"city", "country"}),
        ("{% for i in items %}{{ i }}{{ loop.index }}{% endfor %}", {"items"}),
        ("{% set x = 1 %}{{ x }}{{ y.z }}", {"y"}),
        ("plain", set()),
    ],
)
def test_placeholders_are_the_attributes_read(template: str, names: set[str]) -> None:
    assert renderer.placeholders(template) == names


def test_placeholders_of_a_broken_template_is_a_template_error() -> None:
    with pytest.raises(InvalidInput, match="content-template-error"):
        renderer.placeholders("{{ name ")


def test_compiled_templates_are_cached_by_text_and_bounded() -> None:
    small = JinjaRenderer(cache_size=2)
    for text in ("a {{ x }}", "b {{ x }}", "a {{ x }}", "c {{ x }}"):
        small.render(text, {"x": 1})
    info = small._compiled.cache_info()  # type: ignore[attr-defined]
    assert (info.hits, info.misses, info.currsize, info.maxsize) == (1, 3, 2, 2)


PLACEHOLDERS_ONLY = [
    "Hello {{ name }}!",
    "<b>Hello</b> {{ name }}! Our <i>news</i> of the week.",
    "{{ name }}{{ city }}{{name}}",
    "  {{- name -}}  ,  {{ missing }} |",
    "line one\nline two {{ name }}\n",
    "no placeholders &amp; <i>entities</i>\r\n",
    "",
]
VALUES = [
    {"name": "Ann", "city": "Riga"},
    {"name": '<b>O\'Brien</b> & "Sons"', "city": "Zürich & Sœur <3"},
    {"name": "", "city": "\n"},
    {"name": "Анна"},
]


@pytest.mark.parametrize("template", PLACEHOLDERS_ONLY)
@pytest.mark.parametrize("values", VALUES)
def test_placeholder_only_templates_render_as_jinja_renders_them(
    template: str, values: dict[str, object]
) -> None:
    """Such templates are filled without Jinja's machinery when every value is text: the
    same text as Jinja's, escaped in a body and not in a subject."""
    body = AttributesOnlyEnvironment().from_string(template).render(values)
    text = AttributesOnlyEnvironment(autoescape=False).from_string(template).render(values)
    assert renderer.render(template, values) == body
    assert renderer.render_text(template, values) == text


@pytest.mark.parametrize("value", [42, 2.5, None, True, ["a"], {"k": "v"}])
def test_a_value_that_is_not_text_renders_as_jinja_renders_it(value: object) -> None:
    expected = AttributesOnlyEnvironment().from_string("Hi {{ v }}!").render(v=value)
    assert renderer.render("Hi {{ v }}!", {"v": value}) == expected


def test_a_placeholder_only_template_keeps_the_character_limit() -> None:
    with pytest.raises(InvalidInput) as caught:
        renderer.render("{{ v }}", {"v": "x" * (MAX_CHARS + 1)})
    assert caught.value.key == "content-template-chars"
