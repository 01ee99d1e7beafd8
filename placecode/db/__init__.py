"""Schema, engine factory and bulk loading (SQL lives only here, in the domain and in queries/)."""

from placecode.db.engine import DatabaseError, get_engine, init_db
from placecode.db.schema import metadata

__all__ = ["DatabaseError", "get_engine", "init_db", "metadata"]
