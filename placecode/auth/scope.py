"""What a role may see; `queries/` take a Scope and apply it (layouts never decide this)."""

from __future__ import annotations

from dataclasses import dataclass

# Cells counting fewer distinct persons than this are suppressed for aggregate-only roles.
MIN_CELL_PERSONS = 10


@dataclass(frozen=True)
class Scope:
    role: str
    district_id: int | None = None

    @property
    def aggregates_only(self) -> bool:
        """Planners (and wall tokens later) never see person-level numbers."""
        return self.role == "planner"

    @property
    def home_district(self) -> int | None:
        """The district a district-bound role is responsible for (highlighted on the wall)."""
        return self.district_id if self.role in ("district_commander", "duty_officer") else None

    @classmethod
    def of(cls, user) -> Scope:
        return cls(role=user.role, district_id=user.district_id)
