"""Per-chat order of outbound messages: each names its chat (a keyed hash) and its place in line.

Messages already queued at the upgrade get a chat of their own (their id: the server
cannot compute the keyed hash here), so they go out as before, unordered among themselves.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("outbound_messages", sa.Column("chat", sa.String(64), nullable=True))
    op.add_column("outbound_messages", sa.Column("seq", sa.BigInteger(), nullable=True))
    op.add_column("outbound_messages", sa.Column("part", sa.Integer(), nullable=True))
    op.execute(sa.text("UPDATE outbound_messages SET chat = id, seq = 0, part = 0"))
    with op.batch_alter_table("outbound_messages") as batch:  # SQLite: NOT NULL needs the table rebuilt
        for name in ("chat", "seq", "part"):
            batch.alter_column(name, nullable=False)
    op.create_index("ix_outbound_messages_chat_seq", "outbound_messages", ["chat", "seq"])
    op.create_index("ix_outbound_messages_seq", "outbound_messages", ["seq"])


def downgrade() -> None:
    op.execute(sa.text("DELETE FROM outbound_messages WHERE state = 'cancelled'"))  # a state the older code does not know
    op.drop_index("ix_outbound_messages_seq", "outbound_messages")
    op.drop_index("ix_outbound_messages_chat_seq", "outbound_messages")
    with op.batch_alter_table("outbound_messages") as batch:
        for name in ("part", "seq", "chat"):
            batch.drop_column(name)
