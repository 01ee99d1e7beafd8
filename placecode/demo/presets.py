"""Demo presets: how big a city `placecode demo` builds."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Preset:
    name: str
    venues: int
    residents: int
    scans_per_day: int
    subdistricts_per_district: int
    communities_per_subdistrict: int
    residents_per_building: int
    default_days: int
    served_days: int  # days whose scans load before the city is served; older ones backfill


PRESETS: dict[str, Preset] = {
    # Tests: builds in seconds on either database.
    "small": Preset("small", 3_000, 20_000, 24_000, 4, 5, 60, 2, 60),
    # Weihai scale (seed 003): 190k venues, ~2.9M residents, ~3M scans a day; a week and today,
    # today's scans loaded before serving (the wall reads the rollups of every day), the older
    # days' after (placecode.demo.backfill).
    "city": Preset("city", 190_000, 2_900_000, 3_000_000, 12, 25, 120, 8, 1),
}


class PresetError(ValueError):
    """Unknown preset or impossible size; the message lists what exists."""


def get_preset(name: str) -> Preset:
    try:
        return PRESETS[name]
    except KeyError:
        raise PresetError(
            f"unknown preset {name!r}: choose one of {', '.join(PRESETS)}"
        ) from None
