"""Schema, engine factory and bulk loading; the only SQL outside queries/ lives here and in the domain."""

from placecode.db.engine import DatabaseError, get_engine, init_db
from placecode.db.schema import metadata

__all__ = ["DatabaseError", "get_engine", "init_db", "metadata"]
