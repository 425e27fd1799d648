"""Hard limits of one render (``infrastructure.rendering.limits``): loop steps, characters
produced and time. Bombs are refused before they allocate much, with their own key;
templates of real use render as before, close to the limits too."""

from __future__ import annotations

import threading

import pytest

from domain.errors import InvalidInput
from infrastructure.rendering import JinjaRenderer
from infrastructure.rendering.limits import MAX_CHARS, MAX_STEPS

renderer = JinjaRenderer()

LOOPS_3_DEEP = (
    '{% for a in "x"*2000 %}{% for b in "x"*2000 %}{% for c in "x"*2000 %}'
    "{% endfor %}{% endfor %}{% endfor %}"
)
# Each line multiplies the string by ten: 10 ** 4 characters become 10 ** 8.
CONCAT_GROWTH = (
    '{% set a = "x"*10000 %}{% set b = a~a~a~a~a~a~a~a~a~a %}'
    "{% set c = b~b~b~b~b~b~b~b~b~b %}{% set d = c~c~c~c~c~c~c~c~c~c %}"
    "{% set e = d~d~d~d~d~d~d~d~d~d %}{{ e|length }}"
)
CHAR_BOMBS = [
    CONCAT_GROWTH,
    CONCAT_GROWTH.replace("~", "+"),
    '{% set a = "x"*10000 %}{{ a|replace("x", a) }}',  # 10 ** 8 in one filter
    '{% set a = "x"*10000 %}{{ a|replace("", a)|length }}',
    '{% set a = "x"*10000 %}{{ ([a]*10000)|join }}',
    '{% set a = "x"*10000 %}{{ a|join(a) }}',
    '{% set a = "x"*10000 %}{% for i in "x"*200 %}{{ a }}{% endfor %}',  # the output itself
    # Output gathered in a macro or a {% set %} block counts even if never shown.
    '{% macro m() %}{% for i in "x"*5000 %}{{ "y"*1000 }}{% endfor %}{% endmacro %}'
    "{% set kept = m() %}ok",
    '{% set kept %}{% for i in "x"*5000 %}{{ "y"*1000 }}{% endfor %}{% endset %}ok',
    # Folded while compiling (constant text): refused then too.
    '{{ "' + "x" * 1000 + '"|replace("x", "' + "y" * 1000 + '")|replace("y", "zz") }}',
]
STEP_BOMBS = [
    LOOPS_3_DEEP,
    "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(60) }}",
    '{% set s = "x"*100 %}{% for a in s recursive %}{% if loop.depth < 6 %}{{ loop(s) }}'
    "{% endif %}{% endfor %}",
]
# Within the step and character limits, yet each step scans half a million characters.
SLOW = (
    '{% set a = "x "*5000 %}{% set b = a~a~a~a~a~a~a~a~a~a %}'
    "{% set c = b~b~b~b~b %}"
    '{% for i in "x"*9000 %}{{ c|wordcount }}{% endfor %}'
)


def refused(template: str, values: dict[str, object] | None = None) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        renderer.render(template, values or {})
    return caught.value


@pytest.mark.parametrize("template", CHAR_BOMBS)
def test_strings_cannot_grow_past_the_character_limit(template: str) -> None:
    error = refused(template)
    assert error.key == "content-template-chars"
    assert error.params["limit"] == MAX_CHARS
    assert error.params["detail"] == f"more than {MAX_CHARS:,} characters for one message"


@pytest.mark.parametrize("template", STEP_BOMBS)
def test_loops_and_calls_stop_at_the_step_limit(template: str) -> None:
    error = refused(template)
    assert error.key == "content-template-steps"
    assert error.params["limit"] == MAX_STEPS


def test_a_loop_over_a_recipients_long_value_is_bounded_too() -> None:
    nested = "{% for a in name %}{% for b in name %}{{ b }}{% endfor %}{% endfor %}"
    assert renderer.render(nested, {"name": "ab"}) == "abab"
    assert refused(nested, {"name": "n" * 200}).key == "content-template-steps"


def test_a_render_that_runs_too_long_is_stopped_at_the_time_limit() -> None:
    quick = JinjaRenderer(seconds=0.2)
    with pytest.raises(InvalidInput) as caught:
        quick.render(SLOW, {})
    assert caught.value.key == "content-template-time"
    assert caught.value.params["limit"] == 0.2


@pytest.mark.parametrize(
    "template",
    [
        "{{ ((9 ** 64) ** 64) ** 64 }}",
        "{% set a = 9 ** 64 %}{% set b = a * a %}{% set c = b * b %}{% set d = c * c %}"
        "{% set e = d * d %}{% set f = e * e %}{% set g = f * f %}{{ g }}",
    ],
)
def test_numbers_cannot_grow_without_bound(template: str) -> None:
    error = refused(template)
    assert error.key == "content-template-error"
    assert "bits" in error.params["detail"]


def test_templates_close_to_the_limits_render_as_before() -> None:
    steps = MAX_STEPS - 100
    loop = "{% for i in items %}{{ loop.index }},{% endfor %}"
    assert renderer.render(loop, {"items": ["x"] * steps}).count(",") == steps
    big = '{% set a = "x"*10000 %}{% for i in "x"*90 %}{{ a }}{% endfor %}'
    assert len(renderer.render(big, {})) == 900_000
    grown = '{% set a = "ab" ~ name ~ "cd" %}{{ a|replace("b", "bb") }} {{ [a, a]|join("-") }}'
    assert renderer.render(grown, {"name": "Ann"}) == "abbAnncd abAnncd-abAnncd"
    assert renderer.render("{{ n + 1 }} {{ 'a' + 'b' }} {{ 2 ** 10 }}", {"n": 1}) == "2 ab 1024"


def test_every_render_has_its_own_budget_also_across_threads() -> None:
    """The budget is per render and per thread: many renders in a row, or at once in
    several threads (the bot renders previews in a thread pool), never add up."""
    half = "{% for i in items %}{{ i }}{% endfor %}"
    values = {"items": ["x"] * (MAX_STEPS // 2 + 1)}
    for _ in range(3):
        assert len(renderer.render(half, values)) == MAX_STEPS // 2 + 1
    results: list[object] = []

    def render() -> None:
        try:
            results.append(len(renderer.render(half, values)))
        except InvalidInput as error:  # pragma: no cover - the failure this test looks for
            results.append(error.key)

    threads = [threading.Thread(target=render) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [MAX_STEPS // 2 + 1] * 4
