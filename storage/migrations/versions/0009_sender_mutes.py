"""Muting a sender who abuses the hotline: each case's sender as a keyed pseudonym (for a while),
and the senders the desk muted.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "case_senders",
        sa.Column("case_id", sa.String(36), primary_key=True),
        sa.Column("sender", sa.String(32), nullable=False),  # crypto.sender_pseudonym, never the address
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_case_senders_expires_at", "case_senders", ["expires_at"])
    op.create_table(
        "muted_senders",
        sa.Column("sender", sa.String(32), primary_key=True),
        sa.Column("case_id", sa.String(36), nullable=False),
        sa.Column("muted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_muted_senders_case_id", "muted_senders", ["case_id"])
    op.create_index("ix_muted_senders_expires_at", "muted_senders", ["expires_at"])


def downgrade() -> None:
    op.drop_table("muted_senders")
    op.drop_table("case_senders")
