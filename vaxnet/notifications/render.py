"""Rendering a message from its template in the recipient's language."""

from collections.abc import Mapping
from functools import cache
from pathlib import Path

from django.template import Context, Engine
from django.utils import translation

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


def render_text(
    *, channel: str, template: str, language: str, context: Mapping[str, object]
) -> str:
    """Render a message template in a language, with the kind's defaults filled in."""
    kind = KINDS[template]
    values = {**kind.defaults, **context}
    compiled = _engine().get_template(f"notifications/{channel}/{template}.txt")
    with translation.override(language):
        return compiled.render(Context(values, autoescape=False)).strip()


def mask_secrets(template: str, context: Mapping[str, object]) -> dict[str, object]:
    """Return the context with the kind's secrets masked, as it may be kept on record."""
    secrets = KINDS[template].secrets
    return {key: MASK if key in secrets else value for key, value in context.items()}
