"""Complementary suppression of a principal's comparison rows (the zone's and the district's),
applied by the service on the server: the rule is :func:`analytics.display.hidden_comparisons`;
here, which groups it hides on a paper and what that removes from a principal's frames."""

from __future__ import annotations

import pandas as pd

from analytics.display import hidden_comparisons, without_district_comparison
from analytics.users import User
from dashboards.access import Filters
from dashboards.scope import Scoped


class Compared(Scoped):
    """Which comparison groups a principal may see, and frames without the others."""

    def comparisons(self, user: User, f: Filters) -> dict[str, str | None]:
        """Which comparison groups (``district``, ``zone``) the user may not see on the paper.

        Officers see every group (all ``None``). For a principal the rule of
        :func:`analytics.display.hidden_comparisons` is applied to the paper's schools: a group
        is hidden (its reason given) when it holds fewer than
        :data:`~analytics.display.MIN_OTHER_SCHOOLS` other schools or ``min_n`` other
        students, so that the group minus the principal's school never isolates another
        school. Every principal-facing method applies it here, on the server.
        """
        f = self.scope(user, f)
        if user.role != "principal" or user.school_id is None:
            return {"district": None, "zone": None}
        schools = self._analysis("score_report", f, level="school")
        if schools.empty or "school_id" not in schools.columns:
            # no results on this paper (or nothing to count): nothing to compare with
            schools = pd.DataFrame({"school_id": [], "zone_id": [], "n": []})
        return hidden_comparisons(schools, user.school_id, self._zone_of(user),
                                  min_n=self.min_n, min_schools=self.min_other_schools)

    def _zone_of(self, user: User) -> int | None:
        if user.zone_id is not None:
            return int(user.zone_id)
        tree = self._tree()
        zone = tree.loc[tree["school_id"] == user.school_id, "zone_id"].dropna()
        return None if zone.empty else int(zone.iloc[0])

    def _compared(self, user: User, f: Filters, frame: pd.DataFrame,
                  level: str) -> pd.DataFrame:
        """A principal's frame after complementary suppression: a hidden group's rows are
        dropped (``level`` district or zone; an analysis made against the district, such as
        hotspots, passes ``district``), and with the district hidden so are the columns of the
        own rows computed against it. Others' frames are returned unchanged."""
        if user.role != "principal":
            return frame
        hidden = self.comparisons(user, f)
        if level in hidden and hidden[level] is not None:
            return frame.iloc[0:0]
        if hidden["district"] is not None:
            return without_district_comparison(frame)
        return frame

    def _green_district_hidden(self, user: User, schools: pd.DataFrame) -> bool:
        """The district rows of the green indicators are hidden from a principal when, on any
        indicator, the other schools' respondents fail :func:`hidden_comparisons`."""
        assert user.school_id is not None
        if schools.empty or "n" not in schools.columns:
            return True
        by = "indicator" if "indicator" in schools.columns else None
        groups = [g for _, g in schools.groupby(by)] if by else [schools]
        return any(hidden_comparisons(g, user.school_id, None, min_n=self.min_n,
                                      min_schools=self.min_other_schools)["district"]
                   is not None for g in groups)
