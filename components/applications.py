"""The reviewers' table of applications for venue codes (pure: a frame in, grid props out)."""

from __future__ import annotations

import pandas as pd

from components.i18n import t


def columns(lang: str) -> list[dict]:
    return [
        {"field": "id", "headerName": t("apply_number", lang), "width": 110},
        {"field": "submitted", "headerName": t("reg_col_submitted", lang), "width": 150},
        {"field": "name", "headerName": t("apply_name", lang), "flex": 2},
        {"field": "kind", "headerName": t("apply_kind", lang), "width": 130},
        {"field": "area", "headerName": t("reg_col_area", lang), "flex": 1},
        {"field": "address", "headerName": t("apply_address", lang), "flex": 2},
        {"field": "contact", "headerName": t("apply_contact_name", lang), "width": 200},
        {"field": "state", "headerName": t("reg_col_state", lang), "width": 150},
        {"field": "outcome", "headerName": t("reg_col_outcome", lang), "flex": 2},
    ]


def rows(frame: pd.DataFrame, lang: str) -> list[dict]:
    out = []
    for r in frame.itertuples():
        outcome = r.code or r.reason or ""
        if r.decided_by:
            outcome = f"{outcome} · {r.decided_by} {r.decided_at:%m-%d %H:%M}"
        out.append({
            "id": int(r.id), "submitted": f"{r.submitted_at:%m-%d %H:%M}", "name": r.name,
            "kind": t(f"vkind_{r.kind}", lang),
            "area": f"{r.district_zh} {r.subdistrict_zh}" if lang == "zh"
            else f"{r.district_en} {r.subdistrict_en}",
            "address": r.address, "contact": f"{r.contact_name} {r.contact_phone}",
            "state": t(f"apply_state_{r.state}", lang), "state_key": r.state,
            "outcome": outcome,
        })
    return out
