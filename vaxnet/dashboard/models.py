"""The dashboard's tallies: counts kept per day, region, vaccine and one breakdown at a time.

A tally is one number: how many of something (`metric`: doses given, people with a first
dose, AEFI reports, sessions…) on one day, in one region, of one vaccine ("" for none,
"*" for all of them together), for one value of one breakdown (`dim`/`value`: dose 2, age
band 18-44, sex female, the region below it came through…; both "" for the total). Every
fact counts in its own region and in each region above it, so that a country, a state or a
district is read from its own rows, never summed from below; and breakdowns are kept one
at a time, not crossed, so that a region's year is a few thousand rows whatever the number
of records behind it.

Each count is also kept for its month and its year (`span` "m" and "y", `day` the period's
first day), so that a range of days, or everything up to a day, is a few dozen rows: whole
years and months where the range covers them, and at its ends either the days it covers or
the whole month less the days it does not (see `dashboard.queries.pieces`). Hours of the
day are kept per day only.

Changes reach the tallies in two steps: the transaction that records, corrects or merges
doses (or plans a session, reports an AEFI, moves stock…) writes the facts it adds or takes
away (`TallyChange`, one row, append only: no contention between transactions), and
`dashboard.services.tallies_fold` adds them up into `Tally` every few seconds.
`PersonTally` keeps what each person counted for, so that any change to a person is the
difference between what they count for now and what they counted for before.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from vaxnet.geo.models import Region


class Tally(models.Model):
    """How many of one metric, on one day, in one region, of one vaccine, for one breakdown."""

    class Span(models.TextChoices):
        DAY = "d", _("day")
        MONTH = "m", _("month")
        YEAR = "y", _("year")

    metric = models.CharField(_("metric"), max_length=16)
    span = models.CharField(_("span"), max_length=1, choices=Span.choices, default=Span.DAY)
    # The day counted, or the first day of the month or year counted.
    day = models.DateField(_("day"))
    region = models.ForeignKey(Region, verbose_name=_("region"), on_delete=models.CASCADE)
    vaccine = models.CharField(_("vaccine"), max_length=40, blank=True)
    dim = models.CharField(_("breakdown"), max_length=12, blank=True)
    value = models.CharField(_("value"), max_length=20, blank=True)
    count = models.BigIntegerField(_("count"), default=0)

    class Meta:
        verbose_name = _("tally")
        verbose_name_plural = _("tallies")
        constraints = [
            # Also the index every dashboard read uses: metric, region, span, breakdown,
            # vaccine ("*": all), then a range of days.
            models.UniqueConstraint(
                fields=["metric", "region", "span", "dim", "vaccine", "day", "value"],
                name="tally_unique_cell",
            )
        ]

    def __str__(self) -> str:
        where = f"{self.region_id} {self.vaccine} {self.dim}={self.value}"
        return f"{self.metric} {self.span}{self.day} {where}"


class TallyChange(models.Model):
    """Facts to add to the tallies (or take away), written in the transaction that made them.

    `facts` is a list of [fact, change] pairs (see `dashboard.facts`): one row per
    transaction, however many tallies its facts touch; folding expands them.
    """

    facts = models.JSONField(_("facts"))
    at = models.DateTimeField(_("at"))

    class Meta:
        verbose_name = _("tally change")
        verbose_name_plural = _("tally changes")

    def __str__(self) -> str:
        return f"{len(self.facts)} facts at {self.at:%Y-%m-%d %H:%M:%S}"


class PersonTally(models.Model):
    """What one registration counts for on the dashboard, as last added to the tallies.

    `facts` lists the person's counted facts (see `dashboard.facts`); a merged registration
    counts for nothing of its own: its doses count with the person it was merged into.
    """

    # No foreign key: a registration removed keeps its row until its facts are taken away.
    beneficiary_id = models.BigIntegerField(_("beneficiary"), primary_key=True)
    facts = models.JSONField(_("facts"), default=list)

    class Meta:
        verbose_name = _("person's tally")
        verbose_name_plural = _("people's tallies")

    def __str__(self) -> str:
        return f"{self.beneficiary_id}: {len(self.facts)} facts"


class TallyState(models.Model):
    """The one row saying how far the tallies are: when changes were last folded in."""

    folded_at = models.DateTimeField(_("folded at"), null=True, blank=True)
    rebuilt_at = models.DateTimeField(_("rebuilt at"), null=True, blank=True)

    class Meta:
        verbose_name = _("state of the tallies")
        verbose_name_plural = _("state of the tallies")

    def __str__(self) -> str:
        return f"folded at {self.folded_at}, rebuilt at {self.rebuilt_at}"
