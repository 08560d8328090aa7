"""Rendering a message from its template in the recipient's language."""

import re
from collections.abc import Mapping
from functools import cache
from pathlib import Path

from django.template import Context, Engine
from django.utils import translation
from django.utils.formats import localize

from vaxnet.notifications.kinds import KINDS, MASK

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"


@cache
def _engine() -> Engine:
    # Text, not HTML: no autoescaping, or "O'Brien" would reach a phone as "O&#x27;Brien".
    return Engine(
        dirs=[str(TEMPLATES_DIR)],
        autoescape=False,
        libraries={"i18n": "django.templatetags.i18n"},
    )


# A template that only places values (no conditions, plurals or filters) is rendered once per
# language with a marker for each value; each message then fills the markers in. Sending one
# SMS per dose at the national peak makes rendering a template per message a real cost.
_PLAIN = re.compile(r"\{%\s*(if|for|plural)\b|\bcount\b|\{\{[^}]*\|")
_MARK = "\x00{}\x00"


@cache
def _shape(channel: str, template: str, language: str) -> str | None:
    """Return the rendered text with a marker per value, or None for a template with logic."""
    name = f"notifications/{channel}/{template}.txt"
    source = (TEMPLATES_DIR / name).read_text(encoding="utf-8")
    if _PLAIN.search(source):
        return None
    marks = {key: _MARK.format(key) for key in KINDS[template].keys}
    with translation.override(language):
        return _engine().get_template(name).render(Context(marks, autoescape=False)).strip()


def render_text(
    *, channel: str, template: str, language: str, context: Mapping[str, object]
) -> str:
    """Render a message template in a language, with the kind's defaults filled in."""
    kind = KINDS[template]
    values = {**kind.defaults, **context}
    shape = _shape(channel, template, language)
    if shape is not None:
        with translation.override(language):
            for key, value in values.items():
                shape = shape.replace(_MARK.format(key), str(localize(value)))
        return shape
    compiled = _engine().get_template(f"notifications/{channel}/{template}.txt")
    with translation.override(language):
        return compiled.render(Context(values, autoescape=False)).strip()


def mask_secrets(template: str, context: Mapping[str, object]) -> dict[str, object]:
    """Return the context with the kind's secrets masked, as it may be kept on record."""
    secrets = KINDS[template].secrets
    return {key: MASK if key in secrets else value for key, value in context.items()}
