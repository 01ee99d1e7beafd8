"""Districts as choices for a viewer: shared by the pages that filter by district."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Engine, select

from placecode.db.schema import districts


def districts_of(engine: Engine, own: int | None) -> pd.DataFrame:
    """Every district, or only `own` for a viewer bound to one (the caller's scope check
    decides). Columns: district_id, name_zh, name_en."""
    d = districts.c
    query = select(d.id, d.name_zh, d.name_en).order_by(d.id)
    if own is not None:
        query = query.where(d.id == own)
    with engine.connect() as conn:
        return pd.DataFrame(conn.execute(query).all(),
                            columns=["district_id", "name_zh", "name_en"])
