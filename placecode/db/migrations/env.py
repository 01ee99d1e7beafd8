"""Alembic environment: runs on the connection that placecode.db.migrations hands over (no
alembic.ini, no URL of its own), inside the caller's transaction."""

from alembic import context

from placecode.db.migrations import include_object
from placecode.db.schema import metadata

if context.is_offline_mode():
    raise RuntimeError("placecode migrations run online only (placecode init-db)")
context.configure(connection=context.config.attributes["connection"], target_metadata=metadata,
                  include_object=include_object)
with context.begin_transaction():
    context.run_migrations()
