"""`closeloop import team`: CSMs, managers and admins, keyed by email.

Managers may be defined in the same file, so `manager_id` is set after every member
of the file exists.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sqlalchemy import Connection, bindparam, func, select, update

from metrics_core.importing import values
from metrics_core.importing.kind import KindImporter, Progress, length, present_columns
from metrics_core.importing.problems import ProblemLog
from metrics_core.importing.reading import Rows
from metrics_core.importing.references import in_chunks, team_ids
from metrics_core.importing.upsert import Counts, Target, model_default, upsert
from metrics_core.store.models import Base, TeamMember, TeamRole

_TABLE = Base.metadata.tables[TeamMember.__tablename__]
_CHAT_IDS = ("slack_user_id", "teams_aad_object_id")


def check(rows: Rows, log: ProblemLog) -> pd.DataFrame:
    c = _TABLE.c
    frame = pd.DataFrame(
        {
            "email": values.email(rows, log, "email", required=True),
            "name": values.text(rows, log, "name", required=True, limit=length(c.name)),
            "role": values.choice(rows, log, "role", TeamRole).fillna(model_default(c.role)),
            "slack_user_id": values.text(rows, log, "slack_user_id", limit=length(c.slack_user_id)),
            "teams_aad_object_id": values.text(
                rows, log, "teams_aad_object_id", limit=length(c.teams_aad_object_id)
            ),
            "manager_email": values.email(rows, log, "manager_email"),
        }
    )
    for column in ("email", *_CHAT_IDS):
        values.unique(rows, log, column, frame[[column]], lambda key: f"'{key[0]}'")
    own = (frame["manager_email"] == frame["email"]).to_numpy()
    values.report(rows, log, "manager_email", own, lambda _: "nobody can be their own manager")
    return frame


def store(
    connection: Connection, rows: Rows, frame: pd.DataFrame, log: ProblemLog, progress: Progress
) -> Counts:
    _check_managers(connection, rows, frame, log)
    for column in _CHAT_IDS:
        _check_chat_id_owner(connection, rows, frame, log, column)
    log.raise_if_any()
    table_frame = frame[["email", "name"]].join(
        present_columns(frame, rows, {name: name for name in ("role", *_CHAT_IDS)})
    )
    new_manager = _manager_changed(connection, frame) if rows.has("manager_email") else None
    counts = upsert(
        connection,
        Target(_TABLE, ("email",), casefold=True),
        table_frame,
        progress=progress,
        changed_elsewhere=new_manager,
    )
    if new_manager is not None and counts.written is not None:
        _link_managers(connection, frame[counts.written])
    return counts


def _manager_changed(connection: Connection, frame: pd.DataFrame) -> np.ndarray:
    """Per row, whether the file gives a stored member another manager than they have."""
    manager = _TABLE.alias("manager")
    stored: dict[str, str | None] = {}
    for where in in_chunks(func.lower(_TABLE.c.email), set(frame["email"])):
        query = (
            select(func.lower(_TABLE.c.email), func.lower(manager.c.email))
            .outerjoin(manager, manager.c.id == _TABLE.c.manager_id)
            .where(where)
        )
        stored.update(connection.execute(query).all())
    return np.array(
        [
            email in stored and stored[email] != (None if pd.isna(wanted) else wanted)
            for email, wanted in zip(frame["email"], frame["manager_email"], strict=True)
        ],
        dtype=bool,
    )


def _check_managers(
    connection: Connection, rows: Rows, frame: pd.DataFrame, log: ProblemLog
) -> None:
    managers = frame["manager_email"]
    in_file = set(frame["email"].dropna())
    known = set(team_ids(connection, set(managers.dropna()) - in_file)) | in_file
    unknown = (managers.notna() & ~managers.isin(known)).to_numpy()
    values.report(
        rows,
        log,
        "manager_email",
        unknown,
        lambda v: f"'{v}' is not a team member, neither stored nor in this file",
    )


def _check_chat_id_owner(
    connection: Connection, rows: Rows, frame: pd.DataFrame, log: ProblemLog, column: str
) -> None:
    """A chat id must not already belong to someone else, or the bot would confuse them."""
    ids = frame[column]
    owners: dict[str, str] = {}
    chat_id = _TABLE.c[column]
    for where in in_chunks(chat_id, set(ids.dropna())):
        query = select(chat_id, func.lower(_TABLE.c.email)).where(where)
        owners.update(connection.execute(query).all())
    owner = ids.map(owners)
    taken = (owner.notna() & (owner != frame["email"])).to_numpy()
    values.report(
        rows,
        log,
        column,
        taken,
        lambda pair: f"'{pair[0]}' already belongs to team member {pair[1]}",
        values=list(zip(ids.tolist(), owner.tolist(), strict=True)),
    )


def _link_managers(connection: Connection, frame: pd.DataFrame) -> None:
    if frame.empty:
        return
    ids = team_ids(connection, set(frame["email"]) | set(frame["manager_email"].dropna()))
    links = [
        {"member": ids[email], "manager": None if pd.isna(manager) else ids[manager]}
        for email, manager in zip(frame["email"], frame["manager_email"], strict=True)
    ]
    statement = (
        update(_TABLE)
        .where(_TABLE.c.id == bindparam("member"))
        .values(manager_id=bindparam("manager"))
    )
    connection.execute(statement, links)


IMPORTER = KindImporter(check, store)
