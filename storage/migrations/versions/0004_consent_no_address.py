"""Consent honoured: a case records whether the worker agreed to be contacted; opt-outs; chat message ids for DELETE.

Cases stored before this revision lose their reply address: the server cannot
tell which of those workers answered NO to contact (the answer is sealed to the
operator), and a message pushed to a worker who declined is the exposure the
hotline promises to prevent. Their `contact_allowed` stays NULL (unknown); the
workers still read every message and status with STATUS and their case code.
The erased addresses do not come back on downgrade.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN (see 0003: rebuilding `cases` on SQLite would cascade to its messages).
    op.add_column("cases", sa.Column("contact_allowed", sa.Boolean(), nullable=True))
    op.execute(sa.text("UPDATE cases SET reply_address = NULL, reply_address_expires_at = NULL"))
    op.create_table(
        "opted_out",
        sa.Column("lookup", sa.String(64), primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "chat_message_refs",
        sa.Column("lookup", sa.String(64), primary_key=True),
        sa.Column("refs", sa.LargeBinary(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_chat_message_refs_expires_at", "chat_message_refs", ["expires_at"])


def downgrade() -> None:
    op.drop_table("chat_message_refs")
    op.drop_table("opted_out")
    op.drop_column("cases", "contact_allowed")
