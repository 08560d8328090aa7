"""Names kept in several languages: a mapping of language code to text."""

from django.utils import translation


def localized(names: dict[str, str], language: str | None = None, fallback: str = "en") -> str:
    """Return the name in the given (or active) language, else the fallback, else any."""
    language = (language or translation.get_language() or fallback).split("-")[0]
    return names.get(language) or names.get(fallback) or next(iter(names.values()), "")


class NamedMixin:
    """For models with a `names` JSON field: the name in the active language."""

    names: dict[str, str]

    @property
    def name(self) -> str:
        """Return the name in the active language, falling back to English or any name."""
        return localized(self.names)
