"""playbooks and their runs, score feedback, success plans, advocacy

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 08:58:55.698677
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "playbook_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("playbook", sa.String(length=64), nullable=False),
        sa.Column("playbook_name", sa.String(length=200), nullable=False),
        sa.Column("trigger", sa.String(length=32), nullable=False),
        sa.Column("trigger_details", sa.JSON(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "open",
                "completed",
                "dropped",
                name="playbook_run_status",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("open_key", sa.String(length=100), nullable=True),
        sa.Column("triggered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "health_at_start", sa.Numeric(precision=5, scale=1, asdecimal=False), nullable=True
        ),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_playbook_runs_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["closed_by_id"],
            ["team_members.id"],
            name=op.f("fk_playbook_runs_closed_by_id_team_members"),
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["team_members.id"], name=op.f("fk_playbook_runs_owner_id_team_members")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_playbook_runs")),
        sa.UniqueConstraint("open_key", name=op.f("uq_playbook_runs_open_key")),
    )
    with op.batch_alter_table("playbook_runs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_playbook_runs_account_id"), ["account_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_playbook_runs_owner_id"), ["owner_id"], unique=False)
        batch_op.create_index(
            "ix_playbook_runs_playbook_triggered", ["playbook", "triggered_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_playbook_runs_status"), ["status"], unique=False)

    op.create_table(
        "score_feedback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("team_member_id", sa.Integer(), nullable=True),
        sa.Column("user_ref", sa.String(length=128), nullable=False),
        sa.Column("score", sa.Numeric(precision=5, scale=1, asdecimal=False), nullable=False),
        sa.Column("band", sa.String(length=16), nullable=False),
        sa.Column("direction", sa.String(length=16), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_score_feedback_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["team_member_id"],
            ["team_members.id"],
            name=op.f("fk_score_feedback_team_member_id_team_members"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_score_feedback")),
    )
    with op.batch_alter_table("score_feedback", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_score_feedback_account_id"), ["account_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_score_feedback_created_at"), ["created_at"], unique=False
        )

    op.create_table(
        "success_outcomes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("promised_on", sa.Date(), nullable=False),
        sa.Column("target_date", sa.Date(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "on_track",
                "at_risk",
                "delivered",
                "missed",
                name="outcome_status",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("delivered_on", sa.Date(), nullable=True),
        sa.Column("acknowledged_on", sa.Date(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_success_outcomes_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["team_members.id"],
            name=op.f("fk_success_outcomes_owner_id_team_members"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_success_outcomes")),
        sa.UniqueConstraint("external_id", name=op.f("uq_success_outcomes_external_id")),
    )
    with op.batch_alter_table("success_outcomes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_success_outcomes_account_id"), ["account_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_success_outcomes_owner_id"), ["owner_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_success_outcomes_target_date"), ["target_date"], unique=False
        )

    op.create_table(
        "playbook_plays",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "todo",
                "done",
                "skipped",
                name="play_status",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("done_by_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["done_by_id"],
            ["team_members.id"],
            name=op.f("fk_playbook_plays_done_by_id_team_members"),
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["playbook_runs.id"],
            name=op.f("fk_playbook_plays_run_id_playbook_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_playbook_plays")),
        sa.UniqueConstraint("run_id", "position", name=op.f("uq_playbook_plays_run_id")),
    )
    with op.batch_alter_table("playbook_plays", schema=None) as batch_op:
        batch_op.create_index("ix_playbook_plays_status_due_at", ["status", "due_at"], unique=False)

    op.create_table(
        "advocacy_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("follow_up_id", sa.Integer(), nullable=True),
        sa.Column("team_member_id", sa.Integer(), nullable=True),
        sa.Column(
            "kind",
            sa.Enum(
                "referral",
                "review",
                "reference_call",
                "case_study",
                name="advocacy_kind",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("occurred_on", sa.Date(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_advocacy_events_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["follow_up_id"],
            ["follow_ups.id"],
            name=op.f("fk_advocacy_events_follow_up_id_follow_ups"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["team_member_id"],
            ["team_members.id"],
            name=op.f("fk_advocacy_events_team_member_id_team_members"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_advocacy_events")),
        sa.UniqueConstraint("external_id", name=op.f("uq_advocacy_events_external_id")),
    )
    with op.batch_alter_table("advocacy_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_advocacy_events_account_id"), ["account_id"], unique=False
        )
        batch_op.create_index("ix_advocacy_events_occurred_on", ["occurred_on"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_advocacy_events_team_member_id"), ["team_member_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("advocacy_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_advocacy_events_team_member_id"))
        batch_op.drop_index("ix_advocacy_events_occurred_on")
        batch_op.drop_index(batch_op.f("ix_advocacy_events_account_id"))

    op.drop_table("advocacy_events")
    with op.batch_alter_table("playbook_plays", schema=None) as batch_op:
        batch_op.drop_index("ix_playbook_plays_status_due_at")

    op.drop_table("playbook_plays")
    with op.batch_alter_table("success_outcomes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_success_outcomes_target_date"))
        batch_op.drop_index(batch_op.f("ix_success_outcomes_owner_id"))
        batch_op.drop_index(batch_op.f("ix_success_outcomes_account_id"))

    op.drop_table("success_outcomes")
    with op.batch_alter_table("score_feedback", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_score_feedback_created_at"))
        batch_op.drop_index(batch_op.f("ix_score_feedback_account_id"))

    op.drop_table("score_feedback")
    with op.batch_alter_table("playbook_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_playbook_runs_status"))
        batch_op.drop_index("ix_playbook_runs_playbook_triggered")
        batch_op.drop_index(batch_op.f("ix_playbook_runs_owner_id"))
        batch_op.drop_index(batch_op.f("ix_playbook_runs_account_id"))

    op.drop_table("playbook_runs")
