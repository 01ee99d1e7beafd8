"""The trace map's data route: the playback spec (trails, exposure venues) as plain JSON fetched by
the map itself, so that megabytes of points do not pass through Dash's renderer.

GET /trace-data/<token>/map.json?lang=&autoplay=&controls=&show=ID,ID   (show: contacts to play
back with the case; audited)
"""

from __future__ import annotations

from flask import Blueprint, jsonify, request
from flask_login import current_user

from components.i18n import explain
from components.trace import map_spec
from pages.trace import cache, ids
from placecode.auth.policy import Refused
from placecode.web import current_engine, current_scope
from queries import trace as q

trace_data = Blueprint("trace_data", __name__, url_prefix="/trace-data")
SHOWN_MAX = 8  # contacts drawn with the case at once


@trace_data.get("/<token>/map.json")
def map_json(token: str):
    result = cache.cached(token)
    if result is None:
        return jsonify({"error": "this trace is no longer held here: press Trace again"}), 404
    lang = request.args.get("lang", "zh")
    chosen = [int(p) for p in request.args.get("show", "").split(",") if p.isdigit()]
    others = {}
    if chosen:
        try:
            frame = q.contact_trajectories(current_engine(), current_scope(), result,
                                           chosen[:SHOWN_MAX], current_user.username)
        except Refused as exc:
            return jsonify({"error": explain(exc, lang)}), 403
        rows = result.contacts[result.contacts["person_id"].isin(chosen)]
        keys = q.with_keys(current_engine(), rows).set_index("person_id")["person_key"]
        others = {"••••" + keys[p][-4:]: frame[frame["person_id"] == p]
                  for p in chosen[:SHOWN_MAX] if p in keys.index}
    spec = map_spec(ids.MAP, result.visits, result.contacts, others, lang,
                    autoplay=request.args.get("autoplay") == "1",
                    controls=request.args.get("controls") != "0")
    return jsonify(spec)
