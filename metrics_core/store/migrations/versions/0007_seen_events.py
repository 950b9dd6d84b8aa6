"""seen_events: inbound event ids claimed for processing, so a redelivery is recognised

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 09:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "seen_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("event_id", sa.String(length=128), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_seen_events")),
        sa.UniqueConstraint("source", "event_id", name=op.f("uq_seen_events_source")),
    )
    with op.batch_alter_table("seen_events") as batch:
        batch.create_index(batch.f("ix_seen_events_received_at"), ["received_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("seen_events") as batch:
        batch.drop_index(batch.f("ix_seen_events_received_at"))
    op.drop_table("seen_events")
