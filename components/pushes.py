"""How an alert push is getting on, in the reader's language (pure)."""

from __future__ import annotations

from components.i18n import t

# the reasons placecode.dispatch.outbox writes (in English, for the log) and their catalog texts
PUSH_ERRORS = (("not tried:", "push_err_skipped"), ("connection refused", "push_err_refused"),
               ("timed out", "push_err_timeout"), ("HTTP ", "push_err_http"))


def push_error(error: str, lang: str) -> str:
    """The outbox's reason for a failed push in the reader's language."""
    for marker, key in PUSH_ERRORS:
        if marker in error:
            code = error.split("HTTP ", 1)[1][:3] if key == "push_err_http" else ""
            return t(key, lang).format(code=code)
    return error if lang == "en" else t("push_err_other", lang)
