"""Channels: inbound receipts (deduplication), the outbound message queue, media of drafts.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inbound_receipts",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_inbound_receipts_received_at", "inbound_receipts", ["received_at"])
    op.create_table(
        "outbound_messages",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("adapter", sa.String(20), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_outbound_messages_state", "outbound_messages", ["state"])
    op.create_index("ix_outbound_messages_next_attempt_at", "outbound_messages", ["next_attempt_at"])
    op.create_table(
        "draft_media",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("lookup", sa.String(64), nullable=False),
        sa.Column("blob", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_draft_media_lookup", "draft_media", ["lookup"])


def downgrade() -> None:
    op.drop_table("draft_media")
    op.drop_table("outbound_messages")
    op.drop_table("inbound_receipts")
