"""Builders of the testing page: grid columns and rows, the desk-map specs (buildings coloured
by percent tested, sampling sites as points and a heat layer), KPI values and the batch plan's
message list. Pure: frames in, dicts and components out."""

from __future__ import annotations

import html
import math

import pandas as pd
from dash import html as dhtml

from components.i18n import t
from components.numbers import fmt_int

# Percent tested within 48 h -> colour: red (behind) through amber to green (done).
STEPS = ((30, [224, 49, 49, 235]), (60, [255, 146, 43, 235]), (85, [255, 212, 59, 235]),
         (101, [81, 207, 102, 235]))
NOBODY = [110, 120, 135, 200]
SITE_COLOUR = [77, 171, 247, 235]
BEHIND_STYLE = {"styleConditions": [
    {"condition": "params.value !== null && params.value < 30",
     "style": {"color": "#ff8787", "fontWeight": 700}},
    {"condition": "params.value !== null && params.value < 60",
     "style": {"color": "#ffc078", "fontWeight": 700}}]}


def pct_colour(pct: float | None) -> list[int]:
    """The map colour of a percent tested (grey when nobody lives there)."""
    if pct is None or (isinstance(pct, float) and math.isnan(pct)):
        return NOBODY
    for limit, colour in STEPS:
        if pct < limit:
            return colour
    return STEPS[-1][1]


def fmt_pct(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:.1f}%"


def _num(value) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) \
        else float(value)


def _name(row, lang: str, base: str = "name") -> str:
    return getattr(row, f"{base}_en" if lang == "en" else f"{base}_zh")


def _when(value, fmt: str = "%m-%d %H:%M") -> str:
    return "" if value is None or pd.isna(value) else pd.Timestamp(value).strftime(fmt)


# -- KPIs ---------------------------------------------------------------------------------------

def kpi_values(progress: pd.DataFrame) -> dict[str, str]:
    """Residents, percent tested within 24 h and not tested within 48 h, for the district."""
    residents = int(progress["residents"].sum()) if len(progress) else 0
    tested = int(progress["tested_24h"].sum()) if len(progress) else 0
    return {"residents": fmt_int(residents),
            "tested24": fmt_pct(100.0 * tested / residents if residents else None),
            "untested": fmt_int(int(progress["untested_48h"].sum()) if len(progress) else 0)}


# -- progress tables ------------------------------------------------------------------------------

def _count_columns(lang: str) -> list[dict]:
    right = {"type": "rightAligned", "flex": 1, "minWidth": 74, "filter": False}
    return [
        {"field": "residents", "headerName": t("tp_col_residents", lang), **right},
        {"field": "tested_today", "headerName": t("tp_col_today", lang), **right},
        {"field": "tested_24h", "headerName": t("tp_col_24h", lang), **right},
        {"field": "tested_48h", "headerName": t("tp_col_48h", lang), **right},
        {"field": "untested_48h", "headerName": t("tp_col_untested", lang), **right},
        {"field": "pct_48h", "headerName": t("tp_col_pct", lang), "type": "rightAligned",
         "flex": 1.1, "minWidth": 84, "filter": False, "cellStyle": BEHIND_STYLE,
         "valueFormatter": {"function": "params.value === null ? '–' : "
                                        "params.value.toFixed(1) + '%'"}},
    ]


def _counts(r) -> dict:
    return {"residents": int(r.residents), "tested_today": int(r.tested_today),
            "tested_24h": int(r.tested_24h), "tested_48h": int(r.tested_48h),
            "untested_48h": int(r.untested_48h), "pct_48h": _num(r.pct_48h)}


def community_columns(lang: str) -> list[dict]:
    return [{"field": "community", "headerName": t("col_community", lang), "flex": 1.6,
             "minWidth": 120, "filter": False},
            {"field": "subdistrict", "headerName": t("col_subdistrict", lang), "flex": 1.3,
             "minWidth": 90, "filter": False},
            *_count_columns(lang)]


def community_rows(frame: pd.DataFrame, lang: str) -> list[dict]:
    """queries.testing.district_progress rows (already furthest behind first)."""
    return [{"community_id": str(r.community_id), "community": _name(r, lang),
             "subdistrict": _name(r, lang, "subdistrict"), **_counts(r)}
            for r in frame.itertuples()]


def building_columns(lang: str) -> list[dict]:
    return [{"field": "building", "headerName": t("tp_col_building", lang), "flex": 1.6,
             "minWidth": 120, "filter": False}, *_count_columns(lang)]


def building_rows(frame: pd.DataFrame) -> list[dict]:
    return [{"building_id": str(r.building_id), "building": r.name, **_counts(r)}
            for r in frame.itertuples()]


def _radius(residents: int, top: int) -> float:
    return round(5 + 9 * math.sqrt(max(residents, 0) / max(top, 1)), 1)


def buildings_spec(frame: pd.DataFrame, target: str, lang: str, fit: str = "") -> dict:
    """One dot per building, coloured by percent tested within 48 h, sized by residents; a new
    `fit` key (the community) makes the map fit the buildings again."""
    top = int(frame["residents"].max()) if len(frame) else 1
    words = (t("tp_col_residents", lang), t("tp_col_48h", lang), t("tp_col_pct", lang))
    points = [{
        "lon": float(r.lon), "lat": float(r.lat), "r": _radius(int(r.residents), top),
        "colour": pct_colour(_num(r.pct_48h)),
        "tip": (f"<b>{html.escape(r.name)}</b><br>{words[0]} {fmt_int(r.residents)} · "
                f"{words[1]} {fmt_int(r.tested_48h)}<br>{words[2]} {fmt_pct(_num(r.pct_48h))}"),
    } for r in frame.itertuples()]
    return {"target": target, "theme": "dark", "points": points, "fit": fit or "once"}


def sites_spec(sites: pd.DataFrame, target: str, lang: str, fit: str = "") -> dict:
    """Sampling sites: a heat layer weighted by today's samples, and a dot per site (sized by
    capacity) carrying the hover card."""
    top = int(sites["capacity"].max()) if len(sites) else 1
    heat = [{"lon": float(r.lon), "lat": float(r.lat), "w": int(r.today)}
            for r in sites.itertuples() if r.today > 0]
    points = [{
        "lon": float(r.lon), "lat": float(r.lat),
        "r": round(4 + 8 * math.sqrt(max(int(r.capacity), 0) / max(top, 1)), 1),
        "colour": SITE_COLOUR,
        "tip": (f"<b>{html.escape(r.name)}</b><br>{t('tp_col_capacity', lang)} "
                f"{fmt_int(r.capacity)} · {t('tp_col_site_today', lang)} {fmt_int(r.today)}"
                f"<br>{t('tp_col_util', lang)} {fmt_pct(_num(r.utilisation))}"),
    } for r in sites.itertuples()]
    return {"target": target, "theme": "dark", "points": points, "heat": heat,
            "fit": fit or "once"}


def site_columns(lang: str) -> list[dict]:
    right = {"type": "rightAligned", "width": 140}
    return [{"field": "name", "headerName": t("tp_col_site", lang), "flex": 1},
            {"field": "capacity", "headerName": t("tp_col_capacity", lang), **right},
            {"field": "today", "headerName": t("tp_col_site_today", lang), **right},
            {"field": "utilisation", "headerName": t("tp_col_util", lang), **right,
             "valueFormatter": {"function": "params.value.toFixed(1) + '%'"}}]


def site_rows(sites: pd.DataFrame) -> list[dict]:
    return [{"name": r.name, "capacity": int(r.capacity), "today": int(r.today),
             "utilisation": float(r.utilisation)} for r in sites.itertuples()]


# -- batch plans ----------------------------------------------------------------------------------

def plan_preview(plan, lang: str) -> list[dict]:
    """A proposed (unsaved) plan as message rows: batch, slot, building, the SMS text."""
    return [{"batch": b.batch_no, "slot": f"{b.slot_start:%H:%M}–{b.slot_end:%H:%M}",
             "building": name, "message": text}
            for b in plan.batches
            for name, text in zip(b.building_names, b.messages, strict=True)]


def message_columns(lang: str) -> list[dict]:
    return [{"field": "batch", "headerName": t("tp_col_batch", lang), "width": 90},
            {"field": "slot", "headerName": t("tp_col_slot", lang), "width": 130},
            {"field": "building", "headerName": t("tp_col_building", lang), "width": 170},
            {"field": "message", "headerName": t("tp_col_message", lang), "flex": 1,
             "wrapText": True, "autoHeight": True}]


def batch_columns(lang: str) -> list[dict]:
    return [
        {"field": "round", "headerName": t("tp_col_round", lang), "width": 140},
        {"field": "batch_no", "headerName": t("tp_col_batch", lang), "width": 80},
        {"field": "slot", "headerName": t("tp_col_slot", lang), "width": 125},
        {"field": "buildings", "headerName": t("tp_col_buildings", lang), "flex": 1,
         "wrapText": True, "autoHeight": True},
        {"field": "progress", "headerName": t("tp_col_progress", lang), "width": 160,
         "type": "rightAligned"},
        {"field": "notified", "headerName": t("tp_col_notified", lang), "width": 190},
    ]


def batch_rows(frame: pd.DataFrame, lang: str) -> list[dict]:
    """queries.testing.batch_progress rows; `notified` says who and when, or that it is due."""
    sep = ", " if lang == "en" else "、"
    return [{
        "batch_id": int(r.batch_id), "round": _when(r.round_start),
        "batch_no": int(r.batch_no), "slot": f"{_when(r.slot_start, '%H:%M')}–"
                                              f"{_when(r.slot_end, '%H:%M')}",
        "buildings": sep.join(r.buildings),
        "progress": f"{fmt_int(r.tested)}/{fmt_int(r.residents)} · {fmt_pct(_num(r.pct))}",
        "notified": (f"{_when(r.notified_at)} {r.notified_by}" if not pd.isna(r.notified_at)
                     else t("tp_not_notified", lang)),
        "is_notified": not pd.isna(r.notified_at),
    } for r in frame.itertuples()]


# -- person lists ---------------------------------------------------------------------------------

def pass_columns(lang: str) -> list[dict]:
    return [{"field": "pass_id", "headerName": t("tp_col_pass", lang), "width": 130},
            {"field": "organisation", "headerName": t("tp_col_org", lang), "width": 130},
            {"field": "person", "headerName": t("col_person", lang), "width": 150},
            {"field": "expires_on", "headerName": t("tp_col_expires", lang), "width": 130},
            {"field": "last_negative", "headerName": t("tp_col_last_negative", lang),
             "width": 170},
            {"field": "problems", "headerName": t("tp_col_problems", lang), "flex": 1,
             "cellStyle": {"color": "#ffc078", "fontWeight": 600}}]


def pass_rows(frame: pd.DataFrame, lang: str) -> list[dict]:
    sep = ", " if lang == "en" else "、"
    return [{"pass_id": r.pass_id, "organisation": r.organisation, "person": r.person,
             "expires_on": pd.Timestamp(r.expires_on).strftime("%Y-%m-%d"),
             "last_negative": _when(r.last_negative) or "–",
             "problems": sep.join(t(f"tp_problem_{p}", lang) for p in r.problems.split(","))}
            for r in frame.itertuples()]


def shared_columns(lang: str) -> list[dict]:
    return [{"field": "pass_id", "headerName": t("tp_col_pass", lang), "width": 130},
            {"field": "person", "headerName": t("col_person", lang), "width": 140},
            {"field": "first", "headerName": t("tp_col_scan1", lang), "flex": 1},
            {"field": "second", "headerName": t("tp_col_scan2", lang), "flex": 1},
            {"field": "gap", "headerName": t("tp_col_gap", lang), "width": 170,
             "type": "rightAligned"}]


def shared_rows(frame: pd.DataFrame, lang: str) -> list[dict]:
    minutes = t("tp_minutes", lang)
    return [{"pass_id": r.pass_id, "person": r.person,
             "first": f"{_when(r.ts_1, '%m-%d %H:%M:%S')} {r.venue_1}",
             "second": f"{_when(r.ts_2, '%m-%d %H:%M:%S')} {r.venue_2}",
             "gap": f"{r.minutes:.0f} {minutes} · {r.km:.1f} km"}
            for r in frame.itertuples()]


def hotel_columns(lang: str) -> list[dict]:
    right = {"type": "rightAligned", "width": 120}
    return [{"field": "hotel", "headerName": t("tp_col_hotel", lang), "flex": 1},
            {"field": "district", "headerName": t("col_district", lang), "width": 120},
            {"field": "arrivals", "headerName": t("tp_col_arrivals", lang), **right},
            {"field": "flagged", "headerName": t("tp_col_flagged", lang), **right,
             "cellStyle": {"styleConditions": [{"condition": "params.value > 0",
                                                "style": {"color": "#ff8787",
                                                          "fontWeight": 700}}]}}]


def hotel_rows(frame: pd.DataFrame, district_names: dict, lang: str) -> list[dict]:
    return [{"hotel": r.hotel or t("tp_no_hotel", lang),
             "district": district_names.get(None if pd.isna(r.hotel_district)
                                            else int(r.hotel_district), ""),
             "arrivals": int(r.arrivals), "flagged": int(r.flagged)}
            for r in frame.itertuples()]


def arrival_columns(lang: str) -> list[dict]:
    return [{"field": "person", "headerName": t("col_person", lang), "width": 130},
            {"field": "arrived", "headerName": t("col_arrived", lang), "width": 130},
            {"field": "origin", "headerName": t("tp_col_origin", lang), "width": 90},
            {"field": "stay", "headerName": t("tp_col_stay", lang), "width": 90},
            {"field": "hotel", "headerName": t("tp_col_hotel", lang), "flex": 1},
            {"field": "until", "headerName": t("tp_col_monitoring", lang), "width": 130},
            {"field": "reasons", "headerName": t("tp_col_flag", lang), "flex": 1.3,
             "cellStyle": {"color": "#ff8787", "fontWeight": 600}}]


def arrival_rows(frame: pd.DataFrame, lang: str) -> list[dict]:
    sep = ", " if lang == "en" else "、"
    return [{"person": r.person, "arrived": _when(r.arrived_at), "origin": r.origin,
             "stay": t(f"tp_stay_{r.stay_kind}", lang), "hotel": r.hotel or "–",
             "until": _when(r.monitoring_ends),
             "reasons": sep.join(t(f"tp_flag_{x}", lang) for x in r.reasons.split(",") if x),
             "flagged": bool(r.flagged)}
            for r in frame.itertuples()]


def refusal(text: str) -> dhtml.Div:
    """A person list this viewer may not see."""
    return dhtml.Div(text, className="testing-refused")
