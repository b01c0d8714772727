"""The common needs offered as one-tap shortcuts under the home page's search
box: each is the search for one service type or target group. A shortcut is
shown only while its term exists and some published service has it, so none
leads to an empty or unfiltered search (admins may delete or stop using terms)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from ..search import FacetOption

# Never more than this many on the page: a phone shows them in two columns.
MAX_SHOWN = 10


@dataclass(frozen=True)
class Shortcut:
    key: str  # stable name, also the icon's (templates/public/_icons.html)
    label: object  # lazy: the page's language when shown
    facet: str  # "type" or "group": the search filter it sets
    code: str  # the taxonomy term's code

    @property
    def args(self) -> dict[str, str]:
        """Query-string arguments of its search, for url_for('public.home', …)."""
        return {self.facet: self.code}

    @property
    def icon(self) -> str:
        return self.key


# Most needed first: when more than MAX_SHOWN have services, the last ones wait.
SHORTCUTS: tuple[Shortcut, ...] = (
    Shortcut("day-centre", _l("Day centre"), "type", "day-centre"),
    Shortcut("crisis", _l("Crisis help"), "group", "crisis"),
    Shortcut("home-care", _l("Care at home"), "type", "home-care"),
    Shortcut("meals", _l("Meals"), "type", "soup-kitchen"),
    Shortcut("shelter", _l("Shelter for the night"), "type", "shelter"),
    Shortcut("hygiene", _l("Hygiene and laundry"), "type", "hygiene"),
    Shortcut("seniors", _l("For seniors"), "group", "seniors"),
    Shortcut("children", _l("For children"), "group", "children"),
    Shortcut("disability", _l("People with disabilities"), "group", "disability"),
    Shortcut("camp", _l("Camps"), "type", "camp"),
    Shortcut("youth", _l("Young people"), "group", "youth"),
)


def shown_shortcuts(
    facets: Mapping[str, Iterable[FacetOption]], shortcuts: Iterable[Shortcut] = SHORTCUTS
) -> list[Shortcut]:
    """The shortcuts whose term exists and has services, given the facets of
    the unfiltered search (a deleted term has no option; an unused one counts 0)."""
    counts = {(facet, option.value): option.count for facet, options in facets.items() for option in options}
    return [s for s in shortcuts if counts.get((s.facet, s.code), 0) > 0][:MAX_SHOWN]
