"""The dialogue after the report: answer windows (the team wrote to a chat, which may now answer
without STATUS) and whether the worker was asked, and answered, if the outcome helped.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "answer_windows",
        sa.Column("lookup", sa.String(64), primary_key=True),  # the chat's keyed blind index, as conversations
        sa.Column("window", sa.LargeBinary(), nullable=False),  # encrypted: the case, its language, what is asked
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_answer_windows_expires_at", "answer_windows", ["expires_at"])
    # A plain ADD COLUMN (see 0003): NULL never asked, "asked", "given".
    op.add_column("cases", sa.Column("feedback", sa.String(8), nullable=True))


def downgrade() -> None:
    op.drop_column("cases", "feedback")
    op.drop_table("answer_windows")
