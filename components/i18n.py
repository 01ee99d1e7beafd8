"""The UI's view of the message catalog (placecode.i18n): components and pages keep one import."""

from placecode.i18n import TEXT, UserError, district_name, explain, system_note, t

__all__ = ["TEXT", "UserError", "district_name", "explain", "system_note", "t"]
