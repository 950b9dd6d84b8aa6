"""Indexes on lower(contacts.email) and lower(accounts.domain): a survey answer finds its
respondent by address or domain whatever the case, and at 100,000 accounts reading every
contact for each answer held the write lock long enough for webhooks to queue past it

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 13:10:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_contacts_email_lower", "contacts", [sa.func.lower(sa.text("email"))])
    op.create_index("ix_accounts_domain_lower", "accounts", [sa.func.lower(sa.text("domain"))])


def downgrade() -> None:
    op.drop_index("ix_accounts_domain_lower", table_name="accounts")
    op.drop_index("ix_contacts_email_lower", table_name="contacts")
