"""The one exception every domain rule raises when it refuses."""

from django.utils.functional import Promise


class DomainError(Exception):
    """A refusal with a stable code and a translatable message for the person who asked."""

    status = 400

    def __init__(
        self, code: str, message: str | Promise, *, field: str | None = None, status: int = 400
    ) -> None:
        super().__init__(code)
        self.code = code
        self.message = message
        self.field = field
        self.status = status

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class NotFound(DomainError):
    """Missing and not-yours alike: the caller learns nothing about which."""

    def __init__(self, message: str | Promise | None = None) -> None:
        from django.utils.translation import gettext_lazy as _

        super().__init__("not_found", message or _("Not found."), status=404)
