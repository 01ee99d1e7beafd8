"""The economy page's charts, tables and map spec, from suppressed cubes (queries.economy).

Pure functions of data frames: a suppressed cell arrives as NaN and is drawn as a gap, a grey
area or "<k", never as a number.
"""

from __future__ import annotations

import html
import math

import numpy as np
import pandas as pd

from components.i18n import t
from components.numbers import PALETTES, SUPPRESSED_COLOUR, classify, fmt_int
from components.trends import FONT, GRID, MUTED, TEXT
from components.venue_layer import KIND_COLOURS, OTHER_COLOUR
from components.venues import kind_text

HIDDEN_RGBA = [61, 68, 80, 200]


def kind_colour(kind: str) -> str:
    r, g, b = KIND_COLOURS.get(kind, OTHER_COLOUR)
    return f"rgb({r},{g},{b})"


def _hex_rgba(colour: str, alpha: int = 215) -> list[int]:
    c = colour.lstrip("#")
    return [int(c[i:i + 2], 16) for i in (0, 2, 4)] + [alpha]


def _layout(title: str, size: int = 16, **extra) -> dict:
    """Plain-dict figures: plotly's validated objects cost ~40 ms a chart, dicts nothing."""
    axis = {"gridcolor": GRID, "linecolor": GRID}
    layout = {
        "title": {"text": title, "font": {"size": size + 4, "color": TEXT}, "x": 0.01},
        "paper_bgcolor": "rgba(0,0,0,0)", "plot_bgcolor": "rgba(0,0,0,0)",
        "font": {"family": FONT, "size": size, "color": MUTED},
        "margin": {"l": 70, "r": 20, "t": 56, "b": 44},
        "legend": {"orientation": "h", "y": 1.0, "x": 1, "xanchor": "right",
                   "yanchor": "bottom", "font": {"size": size - 1}},
        "hoverlabel": {"font": {"family": FONT, "size": size}},
        "xaxis": dict(axis), "yaxis": axis | {"rangemode": "tozero", "separatethousands": True},
    }
    for key, value in extra.items():
        layout[key] = layout[key] | value if isinstance(layout.get(key), dict) else value
    return layout


def _values(series: pd.Series) -> list:
    """NaN (suppressed) as null: a gap, not a zero."""
    return [None if pd.isna(v) else float(v) for v in series]


def trend_figure(cube: pd.DataFrame, lang: str) -> dict:
    """Scans per day, one line per industry; a suppressed day is a gap in its line."""
    traces = [{
        "type": "scatter", "mode": "lines+markers", "name": kind_text(kind, lang),
        "x": [d.isoformat() for d in rows["day"]], "y": _values(rows["scans"]),
        "line": {"color": kind_colour(kind), "width": 3}, "marker": {"size": 6},
        "connectgaps": False,
        "hovertemplate": "%{x|%m-%d}  %{y:,}<extra>%{fullData.name}</extra>",
    } for kind, rows in cube.groupby("industry", sort=False)]
    few = cube["day"].nunique() <= 14
    return {"data": traces, "layout": _layout(
        t("ec_trend", lang), margin={"b": 90},
        legend={"y": -0.12, "yanchor": "top", "x": 0, "xanchor": "left", "orientation": "h"},
        xaxis={"type": "date", "tickformat": "%m-%d",
               **({"dtick": 86_400_000} if few else {})})}  # whole days, no repeated dates


def share_figure(cube: pd.DataFrame, lang: str) -> dict:
    """Each industry's share of the period's scans, largest on top; suppressed ones say so."""
    rows = cube.assign(order=cube["scans"].fillna(-1)).sort_values("order")
    total = float(np.nansum(cube["scans"]))
    share = rows["scans"] / total * 100 if total else rows["scans"] * np.nan
    labels = [f"{s:.1f}%  ({fmt_int(v)})" if not math.isnan(v) else t("ec_hidden_short", lang)
              for s, v in zip(share.fillna(0), rows["scans"], strict=True)]
    bar = {"type": "bar", "orientation": "h", "x": [round(float(x), 2) for x in share.fillna(0)],
           "y": [kind_text(k, lang) for k in rows["industry"]],
           "marker": {"color": [kind_colour(k) for k in rows["industry"]]}, "text": labels,
           "textposition": "outside", "textfont": {"size": 15, "color": TEXT},
           "cliponaxis": False, "hovertemplate": "%{y}: %{x:.1f}%<extra></extra>"}
    return {"data": [bar], "layout": _layout(
        t("ec_share", lang), showlegend=False, margin={"l": 110, "r": 150},
        xaxis={"ticksuffix": "%", "rangemode": "tozero"})}


def hour_figure(cube: pd.DataFrame, days: int, lang: str) -> dict:
    """Average scans per day in each hour of the day, industries by rows (a heatmap)."""
    kinds = list(dict.fromkeys(cube["industry"]))
    grid = (cube.pivot_table(index="industry", columns="hour", values="scans", aggfunc="sum",
                             dropna=False).reindex(index=kinds, columns=range(24))
            / max(days, 1))
    heat = {"type": "heatmap", "z": [_values(row) for _, row in grid.iterrows()],
            "x": [f"{h:02d}" for h in range(24)], "y": [kind_text(k, lang) for k in kinds],
            "colorscale": [[i / (len(PALETTES["scans"]) - 1), c]
                           for i, c in enumerate(PALETTES["scans"])],
            "hoverongaps": False, "xgap": 1, "ygap": 1,
            "colorbar": {"title": {"text": t("ec_per_day", lang)}, "tickformat": ",d"},
            "hovertemplate": "%{y} %{x}:00  %{z:,.0f}<extra></extra>"}
    return {"data": [heat], "layout": _layout(
        t("ec_hours", lang), plot_bgcolor=SUPPRESSED_COLOUR, margin={"l": 110},
        yaxis={"autorange": "reversed", "rangemode": "normal"}, xaxis={"type": "category"})}


def _change(now: float, before: float) -> float | None:
    if math.isnan(now) or math.isnan(before) or before == 0:
        return None
    return (now - before) / before * 100


def compare_rows(this_week: pd.DataFrame, last_week: pd.DataFrame, daytype: pd.DataFrame,
                 n_weekdays: int, n_weekend: int, lang: str) -> list[dict]:
    """Per industry: this week, the week before, the change; per weekday and weekend day."""
    now = this_week.set_index("industry")["scans"]
    before = last_week.set_index("industry")["scans"]
    per = daytype.pivot_table(index="industry", columns="daytype", values="scans",
                              aggfunc="sum", dropna=False)
    rows = []
    for kind in now.index.union(before.index):
        a, b = float(now.get(kind, np.nan)), float(before.get(kind, np.nan))
        wd = float(per["weekday"].get(kind, np.nan)) / n_weekdays \
            if "weekday" in per and n_weekdays else np.nan
        we = float(per["weekend"].get(kind, np.nan)) / n_weekend \
            if "weekend" in per and n_weekend else np.nan
        change = _change(a, b)
        rows.append({
            "industry": kind_text(kind, lang), "this_week": fmt_int(a), "last_week": fmt_int(b),
            "change": "–" if change is None else f"{change:+.1f}%",
            "change_value": change, "weekday": fmt_int(wd), "weekend": fmt_int(we),
            "weekend_ratio": "–" if math.isnan(wd) or math.isnan(we) or wd == 0
            else f"{we / wd:.2f}",
        })
    return sorted(rows, key=lambda r: -(r["change_value"] if r["change_value"] is not None
                                         else -1e9))


def compare_columns(lang: str) -> list[dict]:
    right = {"type": "rightAligned", "flex": 1}
    return [
        {"field": "industry", "headerName": t("ec_col_industry", lang), "flex": 1.2},
        {"field": "this_week", "headerName": t("ec_col_this_week", lang)} | right,
        {"field": "last_week", "headerName": t("ec_col_last_week", lang)} | right,
        {"field": "change", "headerName": t("ec_col_change", lang), "cellClassRules": {
            "pc-up": "params.data.change_value > 0",
            "pc-down": "params.data.change_value < 0"}} | right,
        {"field": "weekday", "headerName": t("ec_col_weekday", lang)} | right,
        {"field": "weekend", "headerName": t("ec_col_weekend", lang)} | right,
        {"field": "weekend_ratio", "headerName": t("ec_col_ratio", lang)} | right,
    ]


def area_frame(cube: pd.DataFrame, areas: pd.DataFrame, venues: pd.DataFrame, level: str,
               days: int) -> pd.DataFrame:
    """One row per area: scans (NaN when hidden), per day, venues of the kind, per venue."""
    out = areas.merge(cube.rename(columns={level: "id"})[["id", "scans"]], on="id", how="left")
    out = out.merge(venues, on="id", how="left")
    out["venues"] = out["venues"].fillna(0).astype(int)
    out["per_day"] = out["scans"] / max(days, 1)
    out["per_venue"] = out["per_day"] / out["venues"].where(out["venues"] > 0)
    return out


def area_rows(frame: pd.DataFrame, lang: str, k: int) -> list[dict]:
    """The busiest areas first; hidden areas last, saying why."""
    name = "name_en" if lang == "en" else "name_zh"
    ranked = frame.assign(order=frame["per_day"].fillna(-1)).sort_values("order",
                                                                          ascending=False)
    return [{
        "area": getattr(r, name), "venues": fmt_int(r.venues),
        "per_day": fmt_int(r.per_day) if not math.isnan(r.per_day)
        else t("ec_hidden", lang).format(k=k),
        "per_venue": "–" if math.isnan(r.per_venue) else f"{r.per_venue:,.1f}",
    } for r in ranked.itertuples()]


def area_columns(lang: str, level: str) -> list[dict]:
    right = {"type": "rightAligned", "flex": 1}
    return [
        {"field": "area", "headerName": t(f"ec_col_{level}", lang), "flex": 1.3},
        {"field": "venues", "headerName": t("ec_col_venues", lang)} | right,
        {"field": "per_day", "headerName": t("ec_col_per_day", lang)} | right,
        {"field": "per_venue", "headerName": t("ec_col_per_venue", lang)} | right,
    ]


def map_spec(frame: pd.DataFrame, district: int | None, kind: str | None, target: str,
             lang: str, k: int) -> tuple[dict, list[float], list[str]]:
    """A choropleth of scans per day by area; returns (spec, legend breaks, legend colours)."""
    name = "name_en" if lang == "en" else "name_zh"
    breaks, cls = classify(frame["per_day"].to_numpy(float))
    colours = PALETTES["scans"]
    what = kind_text(kind, lang) if kind else t("ec_all_industries", lang)
    fill, tips, labels = {}, {}, {}
    for r, c in zip(frame.itertuples(), cls, strict=True):
        key = str(int(r.id))
        hidden = math.isnan(r.per_day)
        fill[key] = HIDDEN_RGBA if hidden else _hex_rgba(colours[c])
        value = t("ec_hidden", lang).format(k=k) if hidden else (
            f"{fmt_int(r.per_day)} {t('ec_per_day', lang)}")
        tips[key] = (f"<b>{html.escape(getattr(r, name))}</b><br>{html.escape(what)}: {value}"
                     f"<br>{t('ec_col_venues', lang)}: {fmt_int(r.venues)}")
        if district is None:  # district names fit; sub-district names would pile up
            labels[key] = getattr(r, name)
    spec = {"target": target, "theme": "dark", "fit": f"economy-{district or 'city'}",
            "choropleth": {"district": district, "fill": fill, "tips": tips,
                           "labels": labels, "version": f"{district}-{kind}-{len(fill)}"}}
    return spec, breaks, colours
