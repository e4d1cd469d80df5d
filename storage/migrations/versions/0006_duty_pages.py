"""Pages to the person on duty about urgent cases, and their events (no content, no address).

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "duty_pages",
        sa.Column("ref", sa.String(12), primary_key=True),
        sa.Column("case_id", sa.String(36), nullable=True),
        sa.Column("reason", sa.String(12), nullable=False),
        sa.Column("state", sa.String(14), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("phase", sa.String(8), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_by", sa.String(64), nullable=True),
    )
    op.create_index("ix_duty_pages_case_id", "duty_pages", ["case_id"])
    op.create_index("ix_duty_pages_state", "duty_pages", ["state"])
    op.create_index("ix_duty_pages_next_at", "duty_pages", ["next_at"])
    op.create_table(
        "duty_events",
        sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("page_ref", sa.String(12), nullable=False),
        sa.Column("case_id", sa.String(36), nullable=True),
        sa.Column("kind", sa.String(14), nullable=False),
        sa.Column("person", sa.String(60), nullable=True),
        sa.Column("way", sa.String(10), nullable=True),
        sa.Column("detail", sa.String(64), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_duty_events_page_ref", "duty_events", ["page_ref"])
    op.create_index("ix_duty_events_at", "duty_events", ["at"])


def downgrade() -> None:
    op.drop_table("duty_events")
    op.drop_table("duty_pages")
