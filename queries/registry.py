"""Applications for venue codes, as the district's reviewers see them (scope: register_venues)."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Engine, select

from placecode.auth.policy import Viewer, district_for
from placecode.db.schema import districts, subdistricts, venue_applications, venues

STATES = ("pending", "approved", "refused")
SHOWN = 500


def applications(engine: Engine, scope: Viewer, state: str | None = "pending") -> pd.DataFrame:
    """The newest applications of the viewer's district (the city for city roles), pending
    first. Columns: id, submitted_at, name, kind, address, district_zh, district_en,
    subdistrict_zh, subdistrict_en, lon, lat, contact_name, contact_phone, state, reason,
    decided_at, decided_by, code."""
    own = district_for(scope, "register_venues")
    a, d, s, v = venue_applications.c, districts.c, subdistricts.c, venues.c
    query = (select(a.id, a.submitted_at, a.name, a.kind, a.address, d.name_zh, d.name_en,
                    s.name_zh, s.name_en, a.lon, a.lat, a.contact_name, a.contact_phone,
                    a.state, a.reason, a.decided_at, a.decided_by, v.code)
             .select_from(venue_applications.join(districts, d.id == a.district_id)
                          .join(subdistricts, s.id == a.subdistrict_id)
                          .outerjoin(venues, v.id == a.venue_id))
             .order_by((a.state != "pending"), a.id.desc()).limit(SHOWN))
    if own is not None:
        query = query.where(a.district_id == own)
    if state in STATES:
        query = query.where(a.state == state)
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return pd.DataFrame(rows, columns=[
        "id", "submitted_at", "name", "kind", "address", "district_zh", "district_en",
        "subdistrict_zh", "subdistrict_en", "lon", "lat", "contact_name", "contact_phone",
        "state", "reason", "decided_at", "decided_by", "code"])
