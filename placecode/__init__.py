"""placecode: the command center behind a city's venue codes (domain package, free of Dash)."""

__version__ = "0.1.0"
