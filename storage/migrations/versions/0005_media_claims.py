"""Media claims: a provider's redelivery of a message whose media are being or were cleaned is
recognised before the work, so a crafted file is never decoded twice.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "media_claims",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(100), nullable=True),
    )
    op.create_index("ix_media_claims_claimed_at", "media_claims", ["claimed_at"])


def downgrade() -> None:
    op.drop_table("media_claims")
