"""Component ids of the rules page (prefixed `rules-`)."""

TITLE = "rules-title"
VERSION = "rules-version"
READONLY = "rules-readonly"
CARDS = "rules-cards"
REASON = "rules-reason"
PREVIEW = "rules-preview"
SAVE = "rules-save"
MESSAGE = "rules-message"
PREVIEW_OUT = "rules-preview-out"
PROGRESS = "rules-progress"
HISTORY = "rules-history"
HISTORY_TITLE = "rules-history-title"
SAVED = "rules-saved"
TICK = "rules-tick"


def enabled(rule: str) -> dict:
    return {"type": "rules-enabled", "rule": rule}


def alert(rule: str) -> dict:
    return {"type": "rules-alert", "rule": rule}


def param(rule: str, name: str) -> dict:
    return {"type": "rules-param", "rule": rule, "param": name}
