"""Pure builders for the trace page: the playback map's spec, the visit and contact rows, and the
contact graph (index -> close -> secondary) that stays readable at hundreds of thousands of
contacts by folding each close contact's secondary contacts into one sized node."""

from __future__ import annotations

import math
from html import escape

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from components.i18n import t
from components.venue_layer import kind_label

INDEX_COLOUR = [255, 77, 79, 255]
PALETTE = [[77, 171, 247, 255], [255, 192, 107, 255], [120, 220, 160, 255],
           [200, 150, 255, 255], [255, 140, 200, 255], [90, 230, 230, 255],
           [240, 240, 120, 255], [255, 160, 90, 255]]
GRAPH_NODE_LIMIT = 20_000  # beyond this, secondary contacts are folded per close contact
SPEED_LABELS = {60: ("1 分钟/秒", "1 min/s"), 600: ("10 分钟/秒", "10 min/s"),
                3600: ("1 小时/秒", "1 h/s"), 21600: ("6 小时/秒", "6 h/s")}
TRAIL_LABELS = {3600: ("1 小时", "1 h"), 21600: ("6 小时", "6 h"), 86400: ("1 天", "1 day"),
                259200: ("3 天", "3 days")}


def _seconds(values) -> list[int]:
    return (pd.to_datetime(pd.Series(values)).to_numpy("datetime64[s]")
            .astype(np.int64).tolist())


def trip(visits: pd.DataFrame, colour: list[int], name: str) -> dict | None:
    """One person's visits as a TripsLayer path: at each venue from arrival to departure, then
    straight on to the next."""
    if visits.empty:
        return None
    path, times = [], []
    for v, start, end in zip(visits[["lon", "lat"]].to_numpy().tolist(),
                             _seconds(visits["start"]), _seconds(visits["end"]), strict=True):
        if times and start < times[-1]:  # overlapping visits: leave when the next one starts
            times[-1] = start
        path += [v, v]
        times += [start, max(start, end)]
    return {"path": path, "times": times, "colour": colour, "name": name}


def map_spec(target: str, visits: pd.DataFrame, contacts: pd.DataFrame,
             others: dict[str, pd.DataFrame], lang: str, *, autoplay: bool = False,
             controls: bool = True, start: int | None = None, end: int | None = None) -> dict:
    """The trace map: the case's trail (red) and those of chosen contacts (palette colours),
    the case's venues, and the exposure venues sized by how many contacts were made there
    (venues only, never homes). Tooltips are HTML: names from the registry are escaped."""
    trips = [trip(visits, INDEX_COLOUR, t("trace_case", lang))]
    for i, (name, frame) in enumerate(others.items()):
        trips.append(trip(frame, PALETTE[i % len(PALETTE)], name))
    trips = [x for x in trips if x]
    exposure = (contacts.assign(close=contacts["tier"] == 1, secondary=contacts["tier"] == 2)
                .groupby(["venue_id", "name", "code", "lon", "lat"])[["close", "secondary"]]
                .sum().reset_index()) if len(contacts) else pd.DataFrame()
    points = []
    for r in exposure.itertuples():
        n = r.close + r.secondary
        points.append({
            "lon": r.lon, "lat": r.lat, "r": 5 + min(20, 3 * math.log1p(n)),
            "colour": [255, 192, 107, 220] if r.close else [120, 140, 170, 200],
            "tip": f"<b>{escape(r.name)}</b><br>{escape(r.code)}<br>"
                   f"{t('tier_close', lang)} {r.close} · "
                   f"{t('tier_secondary', lang)} {r.secondary}"})
    for r in visits.drop_duplicates("venue_id").itertuples():
        points.append({"lon": r.lon, "lat": r.lat, "r": 7, "colour": INDEX_COLOUR,
                       "tip": f"<b>{escape(r.name)}</b><br>{escape(r.code)} · "
                              f"{kind_label(r.kind, lang)}"})
    times = [x for tr in trips for x in tr["times"]]
    spec = {"target": target, "theme": "dark", "points": points, "trips": trips,
            "paths": [{"path": tr["path"], "colour": tr["colour"]} for tr in trips],
            "text": playback_text(lang)}
    if times:
        spec["playback"] = {"start": start or min(times) - 3600, "end": end or max(times) + 3600,
                            "speed": 3600, "trail": 86400, "autoplay": autoplay,
                            "loop": autoplay, "controls": controls}
    return spec


def playback_text(lang: str) -> dict:
    text = {"play": t("play", lang), "pause": t("pause", lang), "speed": t("speed", lang),
            "trail": t("trail", lang)}
    i = 1 if lang == "en" else 0
    text |= {f"speed_{k}": v[i] for k, v in SPEED_LABELS.items()}
    text |= {f"trail_{k}": v[i] for k, v in TRAIL_LABELS.items()}
    return text


def visit_rows(visits: pd.DataFrame, lang: str) -> list[dict]:
    district = "district_en" if lang == "en" else "district_zh"
    return [{"arrived": f"{r.start:%m-%d %H:%M}", "left": f"{r.end:%H:%M}",
             "venue": r.name, "code": r.code, "kind": kind_label(r.kind, lang),
             "district": getattr(r, district)} for r in visits.itertuples()]


def contact_rows(contacts: pd.DataFrame, lang: str) -> list[dict]:
    tiers = {1: t("tier_close", lang), 2: t("tier_secondary", lang)}
    return [{"person_id": int(r.person_id), "tier": tiers[r.tier],
             "person": "••••" + r.person_key[-4:], "venue": r.name, "code": r.code,
             "contact_at": f"{pd.Timestamp(r.contact_at):%m-%d %H:%M}",
             "via": t("trace_case", lang) if r.tier == 1 else "••••" + str(r.via_key)[-4:]}
            for r in contacts.itertuples()]


def _ring(n: int, radius: float, offset: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    angle = offset + 2 * np.pi * np.arange(n) / max(n, 1)
    return radius * np.cos(angle), radius * np.sin(angle)


def _edges(x0, y0, x1, y1) -> tuple[list, list]:
    """Line segments as one trace (None separates them)."""
    n = len(x1)
    xs = np.column_stack([np.broadcast_to(x0, n), x1, np.full(n, np.nan)]).ravel()
    ys = np.column_stack([np.broadcast_to(y0, n), y1, np.full(n, np.nan)]).ravel()
    return xs.tolist(), ys.tolist()


def contact_graph(contacts: pd.DataFrame, lang: str,
                  node_limit: int = GRAPH_NODE_LIMIT) -> tuple[go.Figure, bool]:
    """Radial graph: the case in the middle, close contacts on a ring, each one's secondary
    contacts fanned out behind it; past `node_limit` nodes each close contact's secondary
    contacts become one node sized and labelled by their number. Returns (figure, folded)."""
    close = contacts[contacts["tier"] == 1].reset_index(drop=True)
    second = contacts[contacts["tier"] == 2]
    folded = len(contacts) + 1 > node_limit
    cx, cy = _ring(len(close), 1.0)
    where = pd.Series(np.arange(len(close)), index=close["person_id"].to_numpy())
    traces = []
    ex, ey = _edges(0.0, 0.0, cx, cy)
    traces.append(go.Scattergl(x=ex, y=ey, mode="lines", hoverinfo="skip", showlegend=False,
                               line={"color": "rgba(255,192,107,0.35)", "width": 1}))
    step = 2 * np.pi / max(len(close), 1)
    if len(second):
        via = where.reindex(second["via_person_id"].to_numpy()).to_numpy()
        if folded:
            counts = pd.Series(via).value_counts().sort_index()
            i = counts.index.to_numpy(dtype=np.int64)
            angle = 2 * np.pi * i / max(len(close), 1)
            sx, sy = 1.9 * np.cos(angle), 1.9 * np.sin(angle)
            sizes = 4 + 3 * np.sqrt(counts.to_numpy())
            text = [f"{t('tier_secondary', lang)} {n:,}" for n in counts.to_numpy()]
        else:
            rank = pd.Series(via).groupby(via).cumcount().to_numpy()
            per = pd.Series(via).map(pd.Series(via).value_counts()).to_numpy()
            angle = 2 * np.pi * via / max(len(close), 1) + step * 0.8 * (
                (rank + 0.5) / per - 0.5)
            radius = 1.6 + 0.5 * (rank % 4) / 4
            sx, sy = radius * np.cos(angle), radius * np.sin(angle)
            sizes = np.full(len(second), 4.0)
            text = ["••••" + k[-4:] for k in second["person_key"]]
            i = via
        ex, ey = _edges(cx[i], cy[i], sx, sy)
        traces.append(go.Scattergl(x=ex, y=ey, mode="lines", hoverinfo="skip",
                                   showlegend=False,
                                   line={"color": "rgba(120,140,170,0.25)", "width": 1}))
        traces.append(go.Scattergl(x=sx, y=sy, mode="markers", text=text, hoverinfo="text",
                                   name=t("tier_secondary", lang),
                                   marker={"size": sizes, "color": "#7d8fa9"}))
    traces.append(go.Scattergl(
        x=cx, y=cy, mode="markers", name=t("tier_close", lang), hoverinfo="text",
        text=["••••" + k[-4:] for k in close["person_key"]],
        marker={"size": 9, "color": "#ffc06b", "line": {"width": 1, "color": "#0b0f17"}}))
    traces.append(go.Scattergl(x=[0], y=[0], mode="markers", name=t("trace_case", lang),
                               hoverinfo="name", marker={"size": 22, "color": "#ff4d4f"}))
    figure = go.Figure(traces)
    figure.update_layout(
        template="plotly_dark", paper_bgcolor="rgba(0,0,0,0)", plot_bgcolor="rgba(0,0,0,0)",
        margin={"l": 10, "r": 10, "t": 10, "b": 10}, showlegend=True,
        legend={"font": {"size": 15}, "orientation": "h"},
        xaxis={"visible": False}, yaxis={"visible": False, "scaleanchor": "x"},
        font={"family": "Noto Sans SC, sans-serif"})
    return figure, folded
