"""Every message kind renders in every language, with the caller's values filled in."""

import pytest
from django.conf import settings
from django.template import Context
from django.utils import translation

from vaxnet.notifications import render
from vaxnet.notifications.gsm import is_gsm7, sms_parts
from vaxnet.notifications.kinds import KINDS
from vaxnet.notifications.render import render_text

# Realistic, rather long values: what a real SMS has to carry.
SAMPLES: dict[str, dict[str, str | int | float | bool]] = {
    "otp": {"code": "493817"},
    "booking_confirmed": {
        "name": "Priya Ramanathan",
        "centre": "Hill Town Primary Health Centre",
        "date": "14 Jun 2025",
        "slot": "09:00-11:00",
        "code": "4821",
    },
    "booking_cancelled": {
        "name": "Priya Ramanathan",
        "centre": "Hill Town Primary Health Centre",
        "date": "14 Jun 2025",
    },
    "session_cancelled": {
        "name": "Priya Ramanathan",
        "centre": "Hill Town Primary Health Centre",
        "date": "14 Jun 2025",
        "link": "https://vx.example.org/b",
    },
    "reminder": {
        "name": "Priya Ramanathan",
        "centre": "Hill Town Primary Health Centre",
        "date": "14 Jun 2025",
        "slot": "09:00-11:00",
        "code": "4821",
    },
    "waitlist_offer": {
        "name": "Priya Ramanathan",
        "centre": "Hill Town Primary Health Centre",
        "date": "14 Jun 2025",
        "slot": "09:00-11:00",
        "link": "https://vx.example.org/w/7KQ2",
        "minutes": 30,
    },
    "draw_won": {
        "name": "Priya Ramanathan",
        "centre": "Hill Town Primary Health Centre",
        "date": "14 Jun 2025",
        "slot": "09:00-11:00",
        "code": "4821",
    },
    "draw_lost": {
        "name": "Priya Ramanathan",
        "centre": "Hill Town Primary Health Centre",
        "date": "14 Jun 2025",
        "waitlisted": True,
    },
    "no_show_rebook": {
        "name": "Priya Ramanathan",
        "centre": "Hill Town Primary Health Centre",
        "date": "14 Jun 2025",
        "link": "https://vx.example.org/b",
    },
    "correction_approved": {"name": "Priya Ramanathan", "detail": "date of birth"},
    "correction_rejected": {"name": "Priya Ramanathan", "detail": "date of birth"},
    "dose_recorded": {
        "name": "Priya Ramanathan",
        "dose": 2,
        "vaccine": "Covishield",
        "date": "14 Jun 2025",
    },
}
LANGUAGES = [code for code, _name in settings.LANGUAGES]


def test_it_has_a_sample_for_every_kind() -> None:
    assert set(SAMPLES) == set(KINDS)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("template", sorted(SAMPLES))
def test_it_renders_every_template_with_its_values(template: str, language: str) -> None:
    context = SAMPLES[template]

    text = render_text(channel="sms", template=template, language=language, context=context)

    for key, value in context.items():
        if not isinstance(value, bool):
            assert str(value) in text, key
    assert "{" not in text and "%" not in text
    assert "\n" not in text


@pytest.mark.parametrize("template", sorted(SAMPLES))
def test_it_fits_every_english_message_in_one_gsm_sms(template: str) -> None:
    text = render_text(channel="sms", template=template, language="en", context=SAMPLES[template])

    assert is_gsm7(text), text
    assert sms_parts(text) == 1, f"{len(text)} characters: {text}"


def test_it_says_whether_a_lost_draw_joined_the_waitlist() -> None:
    context = dict(SAMPLES["draw_lost"])

    joined = render_text(channel="sms", template="draw_lost", language="en", context=context)
    context["waitlisted"] = False
    not_joined = render_text(channel="sms", template="draw_lost", language="en", context=context)

    assert "waiting list" in joined
    assert "waiting list" not in not_joined


def test_it_does_not_escape_text_as_if_it_were_html() -> None:
    context = {**SAMPLES["booking_cancelled"], "name": "Rose O'Brien & Sons <x>"}

    text = render_text(channel="sms", template="booking_cancelled", language="en", context=context)

    assert "Rose O'Brien & Sons <x>" in text


def test_it_gives_the_otp_validity_in_minutes_by_default() -> None:
    text = render_text(channel="sms", template="otp", language="en", context={"code": "493817"})

    assert text.startswith("493817 ")
    assert "3 minutes" in text


def test_it_counts_hindi_as_ucs2_parts() -> None:
    text = "आपका कोड 493817 है। " * 4

    assert not is_gsm7(text)
    assert sms_parts(text) == 2


@pytest.mark.parametrize("language", ["en", "hi", "ta", "sw"])
@pytest.mark.parametrize("template", sorted(SAMPLES))
def test_the_kept_shape_of_a_plain_template_renders_as_the_template_does(
    template: str, language: str
) -> None:
    """A template without logic is filled in from its kept shape: the same text either way."""
    values = {**KINDS[template].defaults, **SAMPLES[template]}
    compiled = render._engine().get_template(f"notifications/sms/{template}.txt")
    with translation.override(language):
        expected = compiled.render(Context(values, autoescape=False)).strip()
    context = dict(SAMPLES[template])
    assert (
        render.render_text(channel="sms", template=template, language=language, context=context)
        == expected
    )
