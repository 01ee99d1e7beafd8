"""Baseline: the schema placecode made before migrations (frozen in migrations/baseline.py).

On an empty database this creates it. A database an earlier placecode made has no revision and
may predate parts of it: this completes it the way placecode used to at start-up (missing tables,
nullable columns and indexes added, the indexes that wider covering ones replaced dropped, a
derived column filled when it is added), so that 0002 starts from the same schema everywhere.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import Column, inspect

from placecode.db.migrations import forward_only
from placecode.db.migrations.baseline import metadata

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Indexes an earlier schema had and the baseline replaced (by wider covering indexes).
RETIRED_INDEXES = {"scans": ("ix_scans_venue_ts", "ix_scans_person_ts")}


def upgrade() -> None:
    conn = op.get_bind()
    existing = set(inspect(conn).get_table_names()) & set(metadata.tables)
    metadata.create_all(conn)
    inspector = inspect(conn)
    for name in sorted(existing):
        table = metadata.tables[name]
        have = {c["name"] for c in inspector.get_columns(name)}
        for column in table.columns:
            if column.name in have:
                continue
            if not column.nullable:
                from placecode.db.engine import DatabaseError

                raise DatabaseError(f"table {name} lacks the NOT NULL column {column.name}: "
                                   "rebuild it (placecode demo --replace)")
            op.add_column(name, Column(column.name, column.type, comment=column.comment))
            if (name, column.name) == ("persons", "last_test_at"):
                # derived from tests: filled now, or every resident would show as untested
                from placecode.testing.progress import refresh_last_tests

                refresh_last_tests(conn)
        indexes = {i["name"] for i in inspector.get_indexes(name)}
        for index in table.indexes:
            if index.name not in indexes:
                index.create(conn)
        for retired in RETIRED_INDEXES.get(name, ()):
            if retired in indexes:
                op.drop_index(retired, table_name=name)


def downgrade() -> None:
    forward_only("0001")
