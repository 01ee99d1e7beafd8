"""Building blocks of the rules page: one card per rule, the preview table, progress."""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import html

from components.i18n import t
from placecode.demo.places import VENUE_KINDS
from placecode.rules.definitions import RuleDef


def _param_input(rule: RuleDef, p, value: Any, lang: str, editable: bool, id_factory):
    label = p.label_en if lang == "en" else p.label_zh
    if p.kind == "kinds":
        options = [{"label": kind if lang == "en" else VENUE_KINDS[kind][2], "value": kind}
                   for kind in VENUE_KINDS]
        control = dbc.Checklist(id=id_factory(rule.rule_id, p.name), options=options,
                                value=list(value), inline=True, switch=False,
                                inputClassName="me-1", className="rule-kinds",
                                style={"pointerEvents": None if editable else "none"})
    else:
        control = dbc.Input(id=id_factory(rule.rule_id, p.name), type="number", value=value,
                            min=p.low, max=p.high, step=1 if p.kind == "int" else 0.1,
                            disabled=not editable, className="rule-number")
    return html.Div([html.Label(label, className="rule-param-label"), control],
                    className="rule-param")


def build_rule_card(rule: RuleDef, enabled: bool, params: dict[str, Any], lang: str,
                    editable: bool, ids) -> dbc.Card:
    """Title, verdict, on/off and alert switches, and the rule's parameters."""
    title = rule.title_en if lang == "en" else rule.title_zh
    message = rule.message_en if lang == "en" else rule.message_zh
    return dbc.Card(dbc.CardBody([
        html.Div([
            html.Span(t(f"verdict_{rule.verdict}", lang),
                      className=f"verdict-badge verdict-{rule.verdict}"),
            html.Span(title, className="rule-title"),
            dbc.Switch(id=ids.enabled(rule.rule_id), value=enabled, label=t("rule_enabled", lang),
                       disabled=not editable, className="rule-switch ms-auto"),
            dbc.Switch(id=ids.alert(rule.rule_id), value=bool(params["alert"]),
                       label=t("rule_alert", lang), disabled=not editable,
                       className="rule-switch"),
        ], className="rule-head"),
        html.Div(message, className="rule-message"),
        html.Div([_param_input(rule, p, params[p.name], lang, editable, ids.param)
                  for p in rule.params], className="rule-params") if rule.params else None,
    ]), className=f"rule-card mb-2 {'rule-off' if not enabled else ''}")


def build_preview(rows: list[tuple[str, int | None, int | None]], totals, lang: str) -> html.Div:
    """Rule | now | after change, then the red and yellow totals."""
    def cell(v):
        return "—" if v is None else f"{v:,}"

    def changed(a, b):
        return "preview-changed" if a != b else ""

    body = [html.Tr([html.Td(name), html.Td(cell(a)), html.Td(cell(b), className=changed(a, b))])
            for name, a, b in rows]
    body += [html.Tr([html.Th(label), html.Th(cell(a)), html.Th(cell(b),
                                                              className=changed(a, b))])
             for label, a, b in totals]
    return html.Div([
        dbc.Table([html.Thead(html.Tr([html.Th(t("preview_rule", lang)),
                                       html.Th(t("preview_now", lang)),
                                       html.Th(t("preview_new", lang))])),
                   html.Tbody(body)], className="preview-table", size="sm"),
        html.Div(t("preview_note", lang), className="text-secondary small"),
    ], id="rules-preview-table")


def build_progress(state: dict | None, lang: str) -> html.Div | None:
    if not state:
        return None
    total, done = state.get("total") or 0, state.get("done") or 0
    if state.get("error"):
        return dbc.Alert(f"{t('reeval_progress', lang)}: {state['error']}", color="danger")
    percent = 100 if state.get("finished") else (100 * done // total if total else 0)
    label = (t("reeval_done", lang).format(n=f"{state.get('persons', done):,}",
                                           s=state.get("seconds", "?"))
             if state.get("finished") else f"{done:,} / {total:,}")
    return html.Div([
        html.Div(f"{t('reeval_progress', lang)} v{state.get('version')}: {label}",
                 className="mb-1", id="rules-progress-label"),
        dbc.Progress(value=percent, striped=not state.get("finished"),
                     animated=not state.get("finished"), style={"height": "14px"}),
    ])
