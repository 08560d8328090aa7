"""The kinds of message vaxnet sends: each one's template and the context it needs."""

from collections.abc import Mapping
from dataclasses import dataclass, field

# What a masked secret looks like in the stored context and in the body kept on record.
MASK = "******"


@dataclass(frozen=True)
class Kind:
    """A message kind: the context keys its template needs, their defaults and its secrets."""

    key: str
    needs: tuple[str, ...]
    defaults: Mapping[str, str | int] = field(default_factory=dict)
    # Context keys never kept on record: masked in the context, and in the body once sent.
    secrets: tuple[str, ...] = ()
    # The context key holding the minutes after which the message is pointless to send.
    expires_with: str | None = None

    @property
    def keys(self) -> frozenset[str]:
        """Return every context key the template may use."""
        return frozenset(self.needs) | frozenset(self.defaults)


KINDS: dict[str, Kind] = {
    kind.key: kind
    for kind in [
        Kind(
            "otp",
            needs=("code",),
            defaults={"minutes": 3},
            secrets=("code",),
            expires_with="minutes",
        ),
        Kind("booking_confirmed", needs=("name", "centre", "date", "slot", "code")),
        Kind("booking_cancelled", needs=("name", "centre", "date")),
        Kind("session_cancelled", needs=("name", "centre", "date", "link")),
        Kind("reminder", needs=("name", "centre", "date", "slot", "code")),
        Kind(
            "waitlist_offer",
            needs=("name", "centre", "date", "slot", "link", "minutes"),
            expires_with="minutes",
        ),
        Kind("draw_won", needs=("name", "centre", "date", "slot", "code")),
        Kind("draw_lost", needs=("name", "centre", "date", "waitlisted")),
        Kind("dose_recorded", needs=("name", "dose", "vaccine", "date")),
        Kind("no_show_rebook", needs=("name", "centre", "date", "link")),
        Kind("correction_approved", needs=("name", "detail")),
        Kind("correction_rejected", needs=("name", "detail")),
    ]
}
