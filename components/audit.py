"""The audit page's grid: columns in the viewer's language and rows as plain dicts (pure)."""

from __future__ import annotations

import pandas as pd

from components.i18n import t


def columns(lang: str) -> list[dict]:
    return [
        {"field": "time", "headerName": t("col_time", lang), "width": 190, "sort": "desc"},
        {"field": "username", "headerName": t("audit_col_user", lang), "width": 170},
        {"field": "action", "headerName": t("audit_col_action", lang), "width": 210},
        {"field": "subject", "headerName": t("audit_col_subject", lang), "flex": 2},
        {"field": "reason", "headerName": t("audit_col_reason", lang), "flex": 2,
         "wrapText": True, "autoHeight": True},
        {"field": "detail", "headerName": t("audit_col_detail", lang), "flex": 2},
    ]


def process_rows(frame: pd.DataFrame) -> list[dict]:
    return [{"time": f"{r.ts:%Y-%m-%d %H:%M:%S}", "username": r.username, "action": r.action,
             "subject": r.subject, "reason": r.reason, "detail": r.detail}
            for r in frame.itertuples()]
