"""The risk-identification rules (seed 003: 风险识别器) and their adjustable parameters.

Each rule has a fixed verdict and parameters the admin may change at run time (validated here);
which rules are on, and with what parameters, is stored in `rules` / `rule_versions`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from placecode.demo.places import VENUE_KINDS
from placecode.i18n import Term, UserError


class RuleError(UserError, ValueError):
    """A rule change that cannot be accepted; the message names the rule and the parameter."""


def rule_term(rule_id: str) -> Term:
    """'rule temperature' with the rule's Chinese title beside it."""
    rule = RULES.get(rule_id)
    return Term(f"rule {rule_id}", f"规则「{rule.title_zh if rule else rule_id}」")


def _where(rule_id: str, param: Param) -> Term:
    rule = rule_term(rule_id)
    return Term(f"{rule}, parameter {param.name}", f"{rule.zh}的参数「{param.label_zh}」")


@dataclass(frozen=True)
class Param:
    name: str
    kind: str  # int | float | kinds
    default: Any
    label_zh: str
    label_en: str
    low: float | None = None
    high: float | None = None

    def check(self, rule_id: str, value: Any) -> Any:
        where = _where(rule_id, self)
        if self.kind == "kinds":
            if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
                raise RuleError("rule_kinds_list", where=where)
            unknown = sorted(set(value) - set(VENUE_KINDS))
            if unknown:
                raise RuleError("rule_kinds_unknown", where=where,
                                unknown=tuple(str(u)[:32] for u in unknown[:5]),
                                known=tuple(Term.keyed(k, f"vkind_{k}") for k in VENUE_KINDS))
            return sorted(set(value))
        span = Term(f" from {self.low:g} to {self.high:g}", f"（{self.low:g} 至 {self.high:g}）") \
            if self.low is not None else ""
        if value is None:  # an empty or out-of-range number field in the form
            raise RuleError("rule_enter_number", where=where, span=span)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise RuleError("rule_give_number", where=where, span=span, value=repr(value)[:32])
        if self.kind == "int" and value != int(value):
            raise RuleError("rule_whole_number", where=where, value=value)
        value = int(value) if self.kind == "int" else round(float(value), 2)
        if (self.low is not None and value < self.low) or (self.high is not None
                                                           and value > self.high):
            raise RuleError("rule_outside", where=where, value=value, low=f"{self.low:g}",
                            high=f"{self.high:g}")
        return value


@dataclass(frozen=True)
class RuleDef:
    rule_id: str
    verdict: str  # red | yellow
    alert: bool  # default: a hit raises an alert pushed to HQ and community
    title_zh: str
    title_en: str
    message_zh: str
    message_en: str
    params: tuple[Param, ...] = field(default=())

    def defaults(self) -> dict[str, Any]:
        return {"alert": self.alert} | {p.name: p.default for p in self.params}


DAYS = {"low": 1, "high": 60}
RULE_DEFS: tuple[RuleDef, ...] = (
    RuleDef("managed", "red", True, "管控名单人员", "On the management list",
            "管控人员，禁止进入公共场所", "Under management: no entry to public places"),
    RuleDef("health_code_red", "red", True, "健康码红码", "Health code red",
            "健康码红码，禁止进入公共场所", "Health code red: no entry to public places"),
    RuleDef("arrival_monitoring", "red", True, "入威返威居家监测期内外出",
            "Key-area arrival out during home monitoring",
            "重点地区入威人员居家健康监测期内，禁止进入公共场所",
            "Arrived from a key area and still in home monitoring: no entry",
            (Param("window_days", "int", 14, "入威后重点人员天数",
                   "Key person for days after arrival", **DAYS),
             Param("monitoring_days", "int", 7, "居家健康监测天数", "Home-monitoring days",
                   **DAYS))),
    RuleDef("key_person_test", "red", True, "重点人员无有效核酸",
            "Key person without a recent negative test",
            "重点人员无有效核酸阴性结果，禁止进入公共场所",
            "Key person without a recent negative test: no entry",
            (Param("test_hours", "int", 48, "核酸有效小时数", "A negative test counts for hours",
                   low=6, high=336),)),
    RuleDef("temperature", "red", False, "体温异常", "Fever at the entrance",
            "体温异常，请到发热门诊就诊", "Temperature too high: please go to a fever clinic",
            (Param("max_c", "float", 37.3, "体温上限 (°C)", "Fever from (°C)", low=36.5,
                   high=39.0),)),
    RuleDef("health_code_yellow", "yellow", False, "健康码黄码", "Health code yellow",
            "健康码黄码，请尽快进行核酸检测", "Health code yellow: get a nucleic acid test"),
    RuleDef("vaccine_doses", "yellow", False, "疫苗接种不足", "Too few vaccine doses",
            "疫苗接种剂次不足，请在工作人员引导下进入", "Too few vaccine doses for this venue",
            (Param("min_doses", "int", 2, "最少剂次", "Minimum doses", low=1, high=4),
             Param("venue_kinds", "kinds", [], "适用场所类型", "At venue kinds"))),
    RuleDef("mask", "yellow", False, "未佩戴口罩", "No mask", "请佩戴口罩",
            "Please wear a mask"),
)
RULES: dict[str, RuleDef] = {r.rule_id: r for r in RULE_DEFS}
SEVERITY = {"green": 0, "yellow": 1, "red": 2}


@dataclass(frozen=True)
class RuleSet:
    """The rules in force: version, and per rule whether it is on and its parameters."""
    version: int
    enabled: dict[str, bool]
    params: dict[str, dict[str, Any]]

    @classmethod
    def defaults(cls) -> RuleSet:
        return cls(0, {r: True for r in RULES}, {r: d.defaults() for r, d in RULES.items()})

    def on(self, rule_id: str) -> bool:
        return self.enabled.get(rule_id, False)

    def p(self, rule_id: str, name: str) -> Any:
        return self.params[rule_id][name]

    def alerting(self, rule_id: str) -> bool:
        return self.on(rule_id) and bool(self.params[rule_id]["alert"])


def validate_params(rule_id: str, params: dict[str, Any]) -> dict[str, Any]:
    """Complete and check one rule's parameters; unknown names are an error, not ignored."""
    rule = RULES.get(rule_id)
    if rule is None:
        raise RuleError("rule_unknown", rule=repr(rule_id)[:40], known=tuple(RULES))
    known = {p.name: p for p in rule.params}
    extra = sorted(set(params) - set(known) - {"alert"})
    if extra:
        raise RuleError("rule_param_unknown", rule=rule_term(rule_id),
                        extra=tuple(str(e)[:32] for e in extra[:5]))
    out = rule.defaults()
    if "alert" in params:
        if not isinstance(params["alert"], bool):
            raise RuleError("rule_alert_bool", rule=rule_term(rule_id))
        out["alert"] = params["alert"]
    for name, value in params.items():
        if name in known:
            out[name] = known[name].check(rule_id, value)
    return out


def dumps(params: dict[str, Any]) -> str:
    return json.dumps(params, sort_keys=True, ensure_ascii=False)


def reason_objects(reasons: str) -> list[dict[str, str]]:
    """The API's reasons for a stored comma-separated list of rule ids."""
    out = []
    for rule_id in filter(None, reasons.split(",")):
        rule = RULES.get(rule_id)
        out.append({"rule": rule_id, "message_zh": rule.message_zh if rule else rule_id,
                    "message_en": rule.message_en if rule else rule_id})
    return out
