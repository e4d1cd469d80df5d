"""Two-way dialogue: the worker's language on a case, sealed answers, operator API tokens, STATUS throttle counters.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN (both databases do it in place): rebuilding `cases` on SQLite would
    # drop the table, and its ON DELETE CASCADE would take the operator's messages with it.
    op.add_column("cases", sa.Column("language", sa.String(8), nullable=True))
    op.create_table(
        "worker_answers",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("case_id", sa.String(36), sa.ForeignKey("cases.case_id", ondelete="CASCADE"), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_worker_answers_case_id", "worker_answers", ["case_id"])
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.String(12), primary_key=True),
        sa.Column("name", sa.String(60), nullable=False, unique=True),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        "status_attempts",
        sa.Column("scope", sa.String(40), primary_key=True),
        sa.Column("window_start", sa.DateTime(timezone=True), primary_key=True),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("refused", sa.Integer(), nullable=False),
    )
    op.create_index("ix_status_attempts_window_start", "status_attempts", ["window_start"])


def downgrade() -> None:
    op.drop_table("status_attempts")
    op.drop_table("api_tokens")
    op.drop_table("worker_answers")
    op.drop_column("cases", "language")  # SQLite 3.35+ and PostgreSQL drop a column in place
