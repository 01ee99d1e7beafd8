"""Rules page callbacks: the form's values -> a proposed rule set -> preview or save."""

from __future__ import annotations

import json

import dash_bootstrap_components as dbc
import numpy as np
from dash import ALL, Input, Output, State, callback, no_update
from flask_login import current_user

from components.i18n import explain, t
from components.rules import build_preview, build_progress, build_rule_card
from pages.rules import ids
from placecode.auth.policy import note_refusal
from placecode.clock import city_now
from placecode.rules.definitions import RULE_DEFS, RULES, RuleError, RuleSet
from placecode.rules.jobs import reevaluation_state, start_reevaluation
from placecode.rules.preview import preview
from placecode.rules.store import load_rules, proposed, rule_history, save_rules
from placecode.web import current_city_now, current_engine, current_scope, current_settings

FORM = [
    State({"type": "rules-enabled", "rule": ALL}, "value"),
    State({"type": "rules-enabled", "rule": ALL}, "id"),
    State({"type": "rules-alert", "rule": ALL}, "value"),
    State({"type": "rules-alert", "rule": ALL}, "id"),
    State({"type": "rules-param", "rule": ALL, "param": ALL}, "value"),
    State({"type": "rules-param", "rule": ALL, "param": ALL}, "id"),
]


def changes_from_form(enabled, enabled_ids, alerts, alert_ids, values, value_ids) -> dict:
    """{rule_id: {"enabled": bool, "params": {...}}} from the pattern-matched inputs."""
    out: dict[str, dict] = {}
    for value, cid in zip(enabled, enabled_ids, strict=True):
        out.setdefault(cid["rule"], {})["enabled"] = bool(value)
    for value, cid in zip(alerts, alert_ids, strict=True):
        out.setdefault(cid["rule"], {}).setdefault("params", {})["alert"] = bool(value)
    for value, cid in zip(values, value_ids, strict=True):
        out.setdefault(cid["rule"], {}).setdefault("params", {})[cid["param"]] = value
    return out


def rule_title(rule_id: str, lang: str) -> str:
    rule = RULES[rule_id]
    return rule.title_en if lang == "en" else rule.title_zh


def history_rows(rows: list[dict], lang: str) -> list[dict]:
    out = []
    for r in rows:
        params = json.loads(r["params"])
        setting = ("✓ " if r["enabled"] else "✗ ") + ", ".join(
            f"{k}={v}" for k, v in params.items() if k != "alert" and v not in ([], None))
        out.append({"version": r["version"], "rule": rule_title(r["rule_id"], lang)
                    if r["rule_id"] in RULES else r["rule_id"], "setting": setting,
                    "by": r["changed_by"], "at": f"{r['changed_at']:%m-%d %H:%M}",
                    "why": r["reason"]})
    return out


def history_columns(lang: str) -> list[dict]:
    wrap = {"wrapText": True, "autoHeight": True, "cellStyle": {"lineHeight": "1.4",
                                                                 "padding": "6px 10px"}}
    return [{"field": "version", "headerName": t("col_version", lang), "width": 80},
            {"field": "rule", "headerName": t("col_rule", lang), "flex": 2} | wrap,
            {"field": "setting", "headerName": t("col_setting", lang), "flex": 2} | wrap,
            {"field": "by", "headerName": t("col_by", lang), "width": 100},
            {"field": "at", "headerName": t("col_time", lang), "width": 115},
            {"field": "why", "headerName": t("col_why", lang), "flex": 3} | wrap]


@callback(
    Output(ids.TITLE, "children"),
    Output(ids.VERSION, "children"),
    Output(ids.READONLY, "children"),
    Output(ids.CARDS, "children"),
    Output(ids.REASON, "placeholder"),
    Output(ids.REASON, "disabled"),
    Output(ids.PREVIEW, "children"),
    Output(ids.SAVE, "children"),
    Output(ids.SAVE, "disabled"),
    Output(ids.HISTORY_TITLE, "children"),
    Output(ids.HISTORY, "rowData"),
    Output(ids.HISTORY, "columnDefs"),
    Input("shell-lang", "data"),
    Input(ids.SAVED, "data"),
)
def render(lang, _saved):
    """The rules in force as editable cards (read-only for everyone but the admin)."""
    lang = lang or "zh"
    editable = current_scope().may_edit_rules
    with current_engine().connect() as conn:
        rules = load_rules(conn)
        history = rule_history(conn)
    cards = [build_rule_card(r, rules.on(r.rule_id), rules.params[r.rule_id], lang, editable, ids)
             for r in RULE_DEFS]
    readonly = None if editable else dbc.Alert(t("rules_readonly", lang), color="secondary")
    return (t("rules_title", lang), f"{t('rules_version', lang)}: v{rules.version}", readonly,
            cards, t("rules_reason", lang), not editable, t("rules_preview", lang),
            t("rules_save", lang), not editable, t("rules_history", lang),
            history_rows(history, lang), history_columns(lang))


def _proposal(form) -> tuple[RuleSet, RuleSet]:
    with current_engine().connect() as conn:
        current = load_rules(conn)
    return current, proposed(current, changes_from_form(*form))


@callback(
    Output(ids.PREVIEW_OUT, "children"),
    Output(ids.MESSAGE, "children", allow_duplicate=True),
    Input(ids.PREVIEW, "n_clicks"),
    State("shell-lang", "data"),
    *FORM,
    prevent_initial_call=True,
)
def show_preview(_clicks, lang, *form):
    """Persons each rule flags now, and after the change, before anything is saved."""
    lang = lang or "zh"
    try:
        current, new = _proposal(form)
    except RuleError as exc:
        return None, dbc.Alert(explain(exc, lang), color="danger", id="rules-error")
    engine = current_engine()
    now = np.datetime64(current_city_now(), "s")
    before, after = preview(engine, current, now), preview(engine, new, now)
    rows = [(rule_title(r, lang), before.per_rule.get(r), after.per_rule.get(r))
            for r in RULES if r in before.per_rule or r in after.per_rule]
    totals = [(t("preview_total_red", lang), before.red, after.red),
              (t("preview_total_yellow", lang), before.yellow, after.yellow)]
    return build_preview(rows, totals, lang), None


@callback(
    Output(ids.MESSAGE, "children"),
    Output(ids.SAVED, "data"),
    Input(ids.SAVE, "n_clicks"),
    State("shell-lang", "data"),
    State(ids.REASON, "value"),
    *FORM,
    prevent_initial_call=True,
)
def save(_clicks, lang, reason, *form):
    """Store the change as a new version (admin only, checked here, not by the layout) and
    re-evaluate everyone in the background."""
    lang = lang or "zh"
    if not current_scope().may_edit_rules:
        note_refusal("only the admin changes the risk rules")
        return dbc.Alert(t("rules_readonly", lang), color="danger", id="rules-error"), no_update
    engine = current_engine()
    try:
        with engine.begin() as conn:
            new = save_rules(conn, changes_from_form(*form), username=current_user.username,
                             user_id=current_user.id, reason=reason or "",
                             now=current_city_now())
    except RuleError as exc:
        return dbc.Alert(explain(exc, lang), color="danger", id="rules-error"), no_update
    settings = current_settings()
    start_reevaluation(engine, new.version, lambda: city_now(settings.timezone))
    return (dbc.Alert(t("rules_saved", lang).format(v=new.version), color="success",
                      id="rules-saved-message"), new.version)


@callback(
    Output(ids.PROGRESS, "children"),
    Input(ids.TICK, "n_intervals"),
    State("shell-lang", "data"),
)
def progress(_tick, lang):
    return build_progress(reevaluation_state(current_engine()), lang or "zh")

