"""The front door (issue 17): venue applications, phones registered on the scan page, and
outbox rows that belong to no alert (SMS notices of a testing batch).

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from alembic import op

from placecode.db.migrations import forward_only
from placecode.db.schema import phone_registrations, venue_applications

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    venue_applications.create(op.get_bind())
    phone_registrations.create(op.get_bind())
    with op.batch_alter_table("outbox") as batch:  # SQLite rebuilds the table; rows are kept
        batch.alter_column("alert_id", nullable=True,
                           comment="NULL for an SMS of a testing batch")
        batch.alter_column("receiver", comment="district:ID | community:ID | sms")


def downgrade() -> None:
    forward_only(revision)
