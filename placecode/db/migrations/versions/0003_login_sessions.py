"""Server-side login sessions (issue 15): a login is a row of `login_sessions`, so logout and a
password change end it for good (a saved cookie alone no longer logs anybody in).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from alembic import op

from placecode.db.migrations import forward_only
from placecode.db.schema import login_sessions

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    login_sessions.create(op.get_bind())


def downgrade() -> None:
    forward_only(revision)
