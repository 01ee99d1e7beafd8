"""Builders of the venue search and a venue's page: grid rows and columns, desk-map specs
(assets/spec_map.js) and the plotly bar charts. Pure: data in, dicts and figures out."""

from __future__ import annotations

import html
import math

import dash_ag_grid as dag
import pandas as pd
import plotly.graph_objects as go

from components.grid import DARK_THEME, LOCALE_TEXT
from components.i18n import t
from components.numbers import fmt_int
from components.trends import FONT, GRID, MUTED, RED, TEXT, TODAY
from components.venue_layer import KIND_COLOURS, OTHER_COLOUR
from placecode.rules.definitions import RULES

YELLOW = "#ffc06b"
GREEN = "#51cf66"
INVISIBLE = [0, 0, 0, 0]


def kind_text(kind: str, lang: str) -> str:
    """A venue kind in the viewer's language (the code itself when unknown)."""
    key = f"vkind_{kind}"
    try:
        return t(key, lang)
    except KeyError:
        return kind


def reason_text(reasons: str, lang: str) -> str:
    """Comma-separated rule ids -> their titles."""
    names = []
    for rule_id in filter(None, (reasons or "").split(",")):
        rule = RULES.get(rule_id)
        names.append((rule.title_en if lang == "en" else rule.title_zh) if rule else rule_id)
    return ("; " if lang == "en" else "、").join(names)


def venue_href(code: str) -> str:
    return f"/venue/{code}"


def trace_href(person_key: str) -> str:
    return f"/trace?person={person_key}"


# -- the search grid -----------------------------------------------------------------------------

def build_infinite_grid(grid_id: str, height: str) -> dag.AgGrid:
    """The house grid on ag-grid's infinite row model: blocks of 100 rows come from the server
    (`getRowsRequest` -> `getRowsResponse`), sorted there."""
    return dag.AgGrid(
        id=grid_id, rowModelType="infinite", columnDefs=[],
        getRowId="params.data.code",
        defaultColDef={"sortable": True, "resizable": True, "filter": False},
        dashGridOptions={"theme": DARK_THEME, "animateRows": False, "cacheBlockSize": 100,
                         "maxBlocksInCache": 20, "infiniteInitialRowCount": 100,
                         "rowBuffer": 20, "getLocaleText": LOCALE_TEXT},
        style={"height": height}, className="pc-grid venues-grid",
    )


def search_columns(lang: str) -> list[dict]:
    """colIds are what queries.venues sorts by."""
    return [
        {"field": "code_link", "colId": "code", "headerName": t("col_code", lang),
         "width": 190, "cellRenderer": "markdown"},
        {"field": "name", "colId": "name", "headerName": t("vs_col_name", lang), "flex": 1.3},
        {"field": "kind", "colId": "kind", "headerName": t("vs_col_kind", lang),
         "width": 140},
        {"field": "district", "colId": "district", "headerName": t("col_district", lang),
         "width": 130},
        {"field": "subdistrict", "colId": "subdistrict",
         "headerName": t("vs_col_subdistrict", lang), "flex": 1.2},
        {"field": "scans", "colId": "scans", "headerName": t("vs_col_scans", lang),
         "width": 150, "type": "rightAligned", "sortingOrder": ["desc", "asc", None]},
    ]


def search_rows(frame: pd.DataFrame, lang: str) -> list[dict]:
    """`queries.venues.search_venues` rows -> grid rows (texts in `lang`)."""
    suffix = "en" if lang == "en" else "zh"
    return [{
        "code": r.code, "code_link": f"[{r.code}]({venue_href(r.code)})", "name": r.name,
        "kind": kind_text(r.kind, lang), "district": getattr(r, f"district_{suffix}"),
        "subdistrict": getattr(r, f"subdistrict_{suffix}"), "scans": fmt_int(r.scans),
    } for r in frame.itertuples()]


# -- maps ----------------------------------------------------------------------------------------

def _rgba(kind: str, alpha: int = 230) -> list[int]:
    return [*KIND_COLOURS.get(kind, OTHER_COLOUR), alpha]


def _radius(scans: int, top: int) -> float:
    """3 px for a quiet venue up to 9 px for the busiest shown (area ~ scans)."""
    return round(3 + 6 * math.sqrt(max(scans, 0) / max(top, 1)), 1)


def points_spec(frame: pd.DataFrame, target: str, lang: str) -> dict:
    """Venues as coloured dots (kind) sized by the day's scans, with a hover card."""
    top = int(frame["scans"].max()) if len(frame) else 1
    scans_word = t("vs_col_scans", lang)
    points = [{
        "lon": float(r.lon), "lat": float(r.lat), "r": _radius(int(r.scans), top),
        "colour": _rgba(r.kind),
        "tip": (f"<b>{html.escape(r.name)}</b><br>{html.escape(r.code)} · "
                f"{html.escape(kind_text(r.kind, lang))}<br>{scans_word} {fmt_int(r.scans)}"),
    } for r in frame.itertuples()]
    return {"target": target, "theme": "dark", "points": points}


def venue_spec(venue: dict, target: str, lang: str) -> dict:
    """One venue, bright, framed by its district: two invisible points at the district's
    corners make the map fit the district rather than zoom into the lone dot."""
    points = []
    bounds = venue.get("district_bounds")
    if bounds:
        points += [{"lon": bounds[0], "lat": bounds[1], "r": 0.01, "colour": INVISIBLE, "tip": ""},
                   {"lon": bounds[2], "lat": bounds[3], "r": 0.01, "colour": INVISIBLE, "tip": ""}]
    district = venue["district_en" if lang == "en" else "district_zh"]
    points.append({"lon": float(venue["lon"]), "lat": float(venue["lat"]), "r": 11,
                   "colour": _rgba(venue["kind"], 255),
                   "tip": f"<b>{html.escape(venue['name'])}</b><br>{html.escape(district)}"})
    return {"target": target, "theme": "dark", "points": points}


# -- charts --------------------------------------------------------------------------------------

def _whole_ticks(fig: go.Figure, top: float) -> go.Figure:
    """Counts are whole: no 0.2 ticks on a quiet venue's axis."""
    if top < 5:
        fig.update_yaxes(dtick=1, range=[0, max(top, 1) * 1.05])
    return fig


def _style(fig: go.Figure, title: str, size: int) -> go.Figure:
    fig.update_layout(
        title={"text": title, "font": {"size": size + 4, "color": TEXT}, "x": 0.01},
        paper_bgcolor="rgba(0,0,0,0)", plot_bgcolor="rgba(0,0,0,0)",
        font={"family": FONT, "size": size, "color": MUTED}, bargap=0.15,
        margin={"l": 60, "r": 16, "t": 52, "b": 40}, showlegend=False,
        legend={"orientation": "h", "y": 1.02, "x": 1, "xanchor": "right", "yanchor": "bottom"},
    )
    fig.update_xaxes(gridcolor=GRID, linecolor=GRID)
    fig.update_yaxes(gridcolor=GRID, linecolor=GRID, rangemode="tozero", separatethousands=True)
    return fig


def hourly_bars(hourly: pd.DataFrame, upto_hour: int | None, title: str,
                size: int = 16) -> go.Figure:
    """Scans per hour of the day; hours after `upto_hour` (the clock) are not drawn yet."""
    rows = hourly if upto_hour is None else hourly[hourly["hour"] <= upto_hour]
    fig = go.Figure(go.Bar(x=rows["hour"], y=rows["scans"], marker_color=TODAY,
                           hovertemplate="%{x}:00 · %{y:,}<extra></extra>"))
    fig = _style(fig, title, size)
    fig.update_xaxes(range=[-0.6, 23.6], dtick=3, ticksuffix=":00")
    return _whole_ticks(fig, float(rows["scans"].max()) if len(rows) else 0)


def daily_bars(daily: pd.DataFrame, labels: dict, size: int = 16) -> go.Figure:
    """Scans per day, stacked green / yellow / red when the viewer may see the verdicts."""
    days = [d.strftime("%m-%d") for d in daily["day"]]
    fig = go.Figure()
    if daily["red"].notna().all():
        green = daily["scans"] - daily["red"] - daily["yellow"]
        for values, colour, name in ((green, GREEN, labels["green"]),
                                     (daily["yellow"], YELLOW, labels["yellow"]),
                                     (daily["red"], RED, labels["red"])):
            fig.add_trace(go.Bar(x=days, y=values, name=name, marker_color=colour,
                                 hovertemplate="%{x} · %{y:,}<extra>" + name + "</extra>"))
        fig.update_layout(barmode="stack")
    else:
        fig.add_trace(go.Bar(x=days, y=daily["scans"], name=labels["scans"],
                             marker_color=TODAY))
    fig = _style(fig, labels["title"], size)
    fig.update_layout(showlegend=len(fig.data) > 1)
    fig.update_xaxes(type="category")
    return _whole_ticks(fig, float(daily["scans"].max()) if len(daily) else 0)


# -- flagged scans -------------------------------------------------------------------------------

def flagged_columns(lang: str) -> list[dict]:
    verdict_style = {"styleConditions": [
        {"condition": "params.data.verdict_code === 'red'",
         "style": {"color": "#ff8787", "fontWeight": 700}},
        {"condition": "params.data.verdict_code === 'yellow'",
         "style": {"color": YELLOW, "fontWeight": 700}}]}
    return [
        {"field": "time", "headerName": t("col_time", lang), "width": 120},
        {"field": "verdict", "headerName": t("vp_col_verdict", lang), "width": 110,
         "cellStyle": verdict_style},
        {"field": "reason", "headerName": t("col_reason", lang), "flex": 2},
        {"field": "person", "headerName": t("vp_col_person", lang), "flex": 2,
         "cellClass": "venue-person"},
        {"field": "trace", "headerName": t("vp_col_trace", lang), "width": 140,
         "cellRenderer": "markdown"},
    ]


def flagged_rows(frame: pd.DataFrame, unmasked: dict[str, str], lang: str) -> list[dict]:
    """Masked rows, with the full key and a trace link where this viewer unmasked it."""
    out = []
    for r in frame.itertuples():
        key = unmasked.get(str(r.scan_row))
        out.append({
            "scan_row": int(r.scan_row), "time": pd.Timestamp(r.ts).strftime("%H:%M:%S"),
            "verdict": t(f"vp_verdict_{r.verdict}", lang), "verdict_code": r.verdict,
            "reason": reason_text(r.reasons, lang), "person": key or r.person,
            "trace": f"[{t('vp_col_trace', lang)}]({trace_href(key)})" if key else "",
        })
    return out
