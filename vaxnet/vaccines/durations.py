"""Ages and intervals as a pack writes them: "84d", "26w", "9m", "18y"."""

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

Unit = Literal["d", "w", "m", "y"]
# ASCII digits only: \d would also accept Devanagari, Arabic-Indic or fullwidth digits.
# Nothing in a schedule is longer than a human life; larger values are typing mistakes.
_LIMITS = {"d": 150 * 366, "w": 150 * 53, "m": 150 * 12, "y": 150}
_PATTERN = re.compile(r"([0-9]{1,5})([dwmy])")


@dataclass(frozen=True, order=True)
class Duration:
    """A whole number of days, weeks, calendar months or years."""

    value: int
    unit: Unit

    def __str__(self) -> str:
        return f"{self.value}{self.unit}"

    def after(self, start: date) -> date:
        """Return the date this long after the start (month ends are clamped: Jan 31 + 1m)."""
        if self.unit == "d":
            return start + timedelta(days=self.value)
        if self.unit == "w":
            return start + timedelta(weeks=self.value)
        months = self.value * (12 if self.unit == "y" else 1)
        year, month0 = divmod(start.month - 1 + months, 12)
        year += start.year
        day = min(start.day, calendar.monthrange(year, month0 + 1)[1])
        return date(year, month0 + 1, day)

    @property
    def in_years(self) -> bool:
        """Return whether this is counted in whole years (so a birth year is enough)."""
        return self.unit == "y"


def parse_duration(text: str) -> Duration:
    """Parse "84d", "26w", "9m" or "18y"; refuse anything else."""
    match = _PATTERN.fullmatch(text.strip())
    if not match:
        raise ValueError(f"{text!r} is not a duration such as 84d, 26w, 9m or 18y")
    value, unit = int(match.group(1)), match.group(2)
    if value > _LIMITS[unit]:
        raise ValueError(f"{text!r} is longer than a lifetime (at most {_LIMITS[unit]}{unit})")
    return Duration(value, unit)  # type: ignore[arg-type]
