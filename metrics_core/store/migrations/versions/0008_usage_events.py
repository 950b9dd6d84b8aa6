"""usage events over HTTP: counted message ids, user-to-account links, active users per day

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-08 09:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "usage_event_ids",
        sa.Column("message_id", sa.String(length=200), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("message_id", name=op.f("pk_usage_event_ids")),
    )
    with op.batch_alter_table("usage_event_ids") as batch:
        batch.create_index(batch.f("ix_usage_event_ids_received_at"), ["received_at"])

    op.create_table(
        "usage_identities",
        sa.Column("user_key", sa.String(length=32), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("linked_by", sa.String(length=16), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_usage_identities_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_key", name=op.f("pk_usage_identities")),
    )
    with op.batch_alter_table("usage_identities") as batch:
        batch.create_index(batch.f("ix_usage_identities_account_id"), ["account_id"])

    op.create_table(
        "usage_active_users",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("user_key", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_usage_active_users_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "account_id", "day", "user_key", name=op.f("pk_usage_active_users")
        ),
    )
    with op.batch_alter_table("usage_active_users") as batch:
        batch.create_index(batch.f("ix_usage_active_users_day"), ["day"])


def downgrade() -> None:
    with op.batch_alter_table("usage_active_users") as batch:
        batch.drop_index(batch.f("ix_usage_active_users_day"))
    op.drop_table("usage_active_users")
    with op.batch_alter_table("usage_identities") as batch:
        batch.drop_index(batch.f("ix_usage_identities_account_id"))
    op.drop_table("usage_identities")
    with op.batch_alter_table("usage_event_ids") as batch:
        batch.drop_index(batch.f("ix_usage_event_ids_received_at"))
    op.drop_table("usage_event_ids")
