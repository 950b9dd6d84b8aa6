"""Usage events into the daily usage tables, each request all or nothing in one transaction.

The events end up where `closeloop import usage` puts its rows, so health reads them
without knowing how they came:

| `usage_daily` column | from the events of one account on one (UTC) day |
|---|---|
| `events` | track calls |
| `active_users` | distinct users with a track call (by `userId`, else `anonymousId`) |
| `feature_counts` | track calls per feature: `properties.feature`, else the event name |
| `sessions` | left as it is: the spec has no sessions (0 on a day only events filled) |

Feature names are written as `events.feature_name` writes them. The product's feature
list (`product_features`, each feature's first day) moves as an import's does, and the
usage watermark to the latest day with events, but never past yesterday: health reads
usage through the watermark, and a day still under way is not a day of low usage.
Events add to what a day holds, so feed each day from one source: a later import of a
day replaces what events added to it, and events add to an imported day.

Whose usage: a track call's `context.groupId` naming an account's external id, else the
account its user was linked to. `group` calls link users to the account whose external
id is the `groupId` (or, failing that, whose domain is the group's `domain` or `website`
trait); `identify` calls, to the account of the contact with the user's email or of the
email's domain, as survey answers are matched (`accounts.respondents`). A group call's
link stands until another group call moves it; an identify call never overrides it.
The links of a request apply before its track calls. Events of users linked to no
account are counted as unmatched and not stored: usage nobody can attribute is no
account's health.

Exactly once: each message's `messageId` is recorded with its effects, in the same
transaction, so a redelivered message is a duplicate that changes nothing, on any number
of replicas (concurrent deliveries are decided by the id's primary key). Distinct users
per day are kept as their hashed keys (`UsageActiveUser`) so that users counted in one
request are not counted again in the next.

Late events: a track call dated more than `LATE_AFTER` before it arrives is counted as
late and not stored (import older days as a file instead). That bounds what must be
remembered: active users of older days and message ids older than `ID_RETENTION` are
cleared by `prune`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import threading
from collections import Counter
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Table, delete, event, func, select
from sqlalchemy.orm import Session

from metrics_core.accounts.respondents import Directory, load_directory
from metrics_core.health import product_features
from metrics_core.store import changes, watermarks
from metrics_core.store.models import (
    Account,
    Base,
    ProductFeature,
    SourceWatermark,
    UsageActiveUser,
    UsageDaily,
    UsageEventId,
    UsageIdentity,
)
from metrics_core.usage.events import GROUP, IDENTIFY, OTHER_CALLS, TRACK, Message

LATE_AFTER = dt.timedelta(days=7)
"""A track call whose day is more than this before the day it arrives is late."""
ID_RETENTION = dt.timedelta(days=10)
"""How long a message id is remembered: by then a redelivery of it is late and not counted
again, even for a call dated up to two days ahead by a sender's clock (taken as arriving
at its first delivery, and at its own date at a later one)."""
_ACTIVE_USER_DAYS = LATE_AFTER.days + 1
"""Days of active users kept: every day an event may still arrive for, and one more."""

_IDS: Table = Base.metadata.tables[UsageEventId.__tablename__]
_LINKS: Table = Base.metadata.tables[UsageIdentity.__tablename__]
_ACTIVE: Table = Base.metadata.tables[UsageActiveUser.__tablename__]
_DAILY: Table = Base.metadata.tables[UsageDaily.__tablename__]
_FEATURES: Table = Base.metadata.tables[ProductFeature.__tablename__]
_ACCOUNTS: Table = Base.metadata.tables[Account.__tablename__]
_WATERMARKS: Table = Base.metadata.tables[SourceWatermark.__tablename__]
_CHUNK = 1_000
"""Rows per statement: far inside both databases' parameter limits."""
_JSON = json.JSONEncoder(separators=(",", ":"), sort_keys=True)


@dataclass(frozen=True, slots=True)
class Ingested:
    """What one request did. `received` = `accepted` + `duplicates` + `late` + `ignored`.

    `accepted` messages were new and are now recorded; `unmatched` of them (track calls,
    and identify or group calls) could be tied to no account.
    """

    received: int
    accepted: int
    duplicates: int
    unmatched: int
    late: int
    ignored: int

    def as_dict(self) -> dict[str, int]:
        return {
            "received": self.received,
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "unmatched": self.unmatched,
            "late": self.late,
            "ignored": self.ignored,
        }


class _Day:
    """One account's track calls on one day: how many, whose, and of which feature.

    A plain class: there is one per account and day of a request, and a dataclass with
    factories, or a Counter, costs several times as much to make.
    """

    __slots__ = ("events", "features", "users")

    def __init__(self) -> None:
        self.events = 0
        self.users: set[str] = set()
        self.features: dict[str, int] = {}


@dataclass(slots=True)
class _Tally:
    received: int = 0
    accepted: int = 0
    duplicates: int = 0
    unmatched: int = 0
    late: int = 0
    ignored: int = 0

    def done(self) -> Ingested:
        return Ingested(
            self.received, self.accepted, self.duplicates, self.unmatched, self.late, self.ignored
        )


class KnownActiveUsers:
    """Users this process has seen committed as active on a day, to skip writing them again.

    Most events come from users already counted that day, whose `UsageActiveUser` row
    exists: inserting it again changes nothing and costs a write. A row, once committed,
    stays until its day is pruned, so remembering the rows a committed transaction wrote
    (or found) is never wrong, on any number of replicas: a user not remembered is simply
    written, and the database decides. Days older than any event may reach are dropped,
    and everything once `capacity` rows are held.
    """

    def __init__(self, capacity: int = 1_000_000) -> None:
        self._capacity = capacity
        self._days: dict[dt.date, set[tuple[int, str]]] = {}
        self._size = 0
        self._lock = threading.Lock()

    def unknown(self, day: dt.date) -> Callable[[tuple[int, str]], bool]:
        """A test of (account, user) pairs on `day`: True for those to write."""
        held: Collection[tuple[int, str]] = self._days.get(day) or frozenset()
        return lambda pair: pair not in held

    def remember(self, day: dt.date, pairs: Collection[tuple[int, str]], oldest: dt.date) -> None:
        with self._lock:
            for stale in [d for d in self._days if d < oldest]:
                self._size -= len(self._days.pop(stale))
            if self._size + len(pairs) > self._capacity:
                self._days.clear()
                self._size = 0
            held = self._days.setdefault(day, set())
            before = len(held)
            held.update(pairs)
            self._size += len(held) - before


def ingest(
    session: Session,
    messages: Sequence[Message],
    now: dt.datetime,
    known: KnownActiveUsers | None = None,
) -> Ingested:
    """Record one request's `messages` (in order) as of `now`; see the module docstring.

    Runs in the caller's transaction and leaves the commit to it: everything or nothing.
    """
    return ingest_requests(session, [messages], now, known)[0]


def ingest_requests(
    session: Session,
    requests: Sequence[Sequence[Message]],
    now: dt.datetime,
    known: KnownActiveUsers | None = None,
) -> list[Ingested]:
    """Record several requests' messages in one transaction: what each request did.

    The same as `ingest` for each request in turn, in one pass, so that requests arriving
    together share one transaction's fixed costs. A message id in two of them counts for
    the first. `known`, the process's memory of active users, learns this transaction's
    once it commits.
    """
    connection = session.connection()  # the transaction begins here
    with contextlib.closing(_Driver(connection)) as driver:
        return _ingest(session, connection, driver, requests, now, known)


def _ingest(
    session: Session,
    connection: Connection,
    driver: _Driver,
    requests: Sequence[Sequence[Message]],
    now: dt.datetime,
    known: KnownActiveUsers | None,
) -> list[Ingested]:
    first_day = (now - LATE_AFTER).date()
    tallies = [_Tally(received=len(messages)) for messages in requests]
    candidates: dict[str, tuple[_Tally, Message]] = {}
    for tally, messages in zip(tallies, requests, strict=True):
        for message in messages:
            if message.call in OTHER_CALLS:
                tally.ignored += 1
            elif message.call == TRACK and message.at.date() < first_day:
                tally.late += 1
            elif message.message_id in candidates:
                tally.duplicates += 1
            else:
                candidates[message.message_id] = (tally, message)
    fresh_ids = _record_ids(driver, candidates, now)
    fresh: list[tuple[_Tally, Message]] = []
    for message_id, (tally, message) in candidates.items():
        if message_id in fresh_ids:
            tally.accepted += 1
            fresh.append((tally, message))
        else:
            tally.duplicates += 1
    directory = _directory(connection, [message for _, message in fresh])
    _link(driver, [item for item in fresh if item[1].call in (GROUP, IDENTIFY)], directory, now)
    days = _attribute(driver, [item for item in fresh if item[1].call == TRACK], directory)
    if days:
        written = _roll_up(driver, days, known or KnownActiveUsers(0))
        if known is not None:
            oldest = now.date() - dt.timedelta(days=_ACTIVE_USER_DAYS)

            def learn(_: Session) -> None:
                for day, pairs in written.items():
                    known.remember(day, pairs, oldest)

            event.listen(session, "after_commit", learn, once=True)
        product_features.record(connection, _new_features(driver, days))
        # A day still under way is not delivered yet (health reads through the watermark).
        through = min(max(day for _, day in days), now.date() - dt.timedelta(days=1))
        if _watermark_before(driver, through):
            watermarks.advance(connection, watermarks.USAGE, through)
        _bump_inputs(driver, {account for account, _ in days})
    return [tally.done() for tally in tallies]


def prune(session: Session, now: dt.datetime) -> None:
    """Forget message ids past `ID_RETENTION` and active users of days no event may reach.

    Its own short transaction, apart from `ingest`'s: it touches only rows no request
    can touch any more, so it never waits for one, nor one for it.
    """
    session.execute(
        delete(UsageEventId)
        .where(UsageEventId.received_at < now - ID_RETENTION)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        delete(UsageActiveUser)
        .where(UsageActiveUser.day < now.date() - dt.timedelta(days=_ACTIVE_USER_DAYS))
        .execution_options(synchronize_session=False)
    )


class _Driver:
    """The statements of the hot path, written for the database driver itself.

    An event costs a few rows (its id, its user's day, its account's day), and an ORM or
    SQL toolkit's per-row work for a bulk insert with RETURNING is several times what the
    database spends on the row. So these statements are plain SQL on the connection's own
    cursor, inside the session's transaction: the same SQL on SQLite (3.35 or later, for
    RETURNING) and PostgreSQL, with values as each driver stores them (on SQLite, days
    and instants as the text SQLAlchemy's types write).
    """

    def __init__(self, connection: Connection) -> None:
        self.postgres = connection.dialect.name == "postgresql"
        self.mark = "%s" if self.postgres else "?"
        self.json_mark = "CAST(%s AS JSON)" if self.postgres else "?"
        self._cursor = connection.connection.cursor()

    def day(self, value: dt.date) -> Any:
        return value if self.postgres else value.isoformat()

    def instant(self, value: dt.datetime) -> Any:
        if self.postgres:
            return value
        return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")

    def close(self) -> None:
        self._cursor.close()

    @staticmethod
    def read_day(value: Any) -> dt.date:
        return value if isinstance(value, dt.date) else dt.date.fromisoformat(value)

    def marks(self, count: int) -> str:
        return ", ".join([self.mark] * count)

    def rows(self, sql: str, values: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        self._cursor.execute(sql, tuple(values))
        return list(self._cursor.fetchall())  # rows are tuples in both drivers

    def returning(
        self, head: str, types: Sequence[str], tail: str, rows: Sequence[tuple[Any, ...]]
    ) -> list[tuple[Any, ...]]:
        """`head` over `rows` (one value of each SQL type in `types` a row), then `tail`;
        the rows RETURNING gives.

        On PostgreSQL the rows travel as one array per column (`SELECT … FROM unnest`,
        sorted there, so concurrent requests take their locks in one order): one short
        statement, which the driver parses once and the server prepares, where a `VALUES`
        list of a thousand rows is new text to both every time. On SQLite, `VALUES (…),
        (…)` chunk by chunk, in the order given.
        """
        if not rows:
            return []
        if self.postgres:
            arrays = ", ".join(f"CAST(%s AS {kind}[])" for kind in types)
            order = ", ".join(str(k) for k in range(1, len(types) + 1))
            columns = [list(column) for column in zip(*rows, strict=True)]
            return self.rows(
                f"{head} SELECT * FROM unnest({arrays}) ORDER BY {order} {tail}", columns
            )
        template = f"({self.marks(len(types))})"
        found: list[tuple[Any, ...]] = []
        for begin in range(0, len(rows), _CHUNK):
            chunk = rows[begin : begin + _CHUNK]
            sql = f"{head} VALUES {', '.join([template] * len(chunk))} {tail}"
            found += self.rows(sql, [value for row in chunk for value in row])
        return found

    def rows_affected(self, sql: str, values: Sequence[Any]) -> int:
        self._cursor.execute(sql, tuple(values))
        count: int = self._cursor.rowcount
        return count

    def each(self, sql: str, rows: Sequence[tuple[Any, ...]]) -> None:
        """One statement executed for every row."""
        if rows:
            self._cursor.executemany(sql, list(rows))

    def where_in(self, sql: str, values: Collection[str]) -> list[tuple[Any, ...]]:
        """`sql` ending in a text column, with the condition that it is one of `values`.

        One statement whatever the number of values (a JSON array on SQLite, an array on
        PostgreSQL), so the database prepares it once.
        """
        if not values:
            return []
        if self.postgres:
            return self.rows(f"{sql} = ANY(%s)", [sorted(values)])
        return self.rows(
            f"{sql} IN (SELECT value FROM json_each(?))", [_JSON.encode(sorted(values))]
        )


def _record_ids(driver: _Driver, messages: Mapping[str, object], now: dt.datetime) -> set[str]:
    """Insert the ids not recorded yet; the ones this transaction inserted.

    In sorted order, so two requests sharing ids take their locks in one order.
    """
    at = driver.instant(now)
    returned = driver.returning(
        f"INSERT INTO {_IDS.name} (message_id, received_at)",
        ("TEXT", "TIMESTAMPTZ"),
        "ON CONFLICT (message_id) DO NOTHING RETURNING message_id",
        [(message_id, at) for message_id in sorted(messages)],
    )
    return {row[0] for row in returned}


@dataclass(frozen=True, slots=True)
class _Accounts:
    people: Directory
    by_domain: Mapping[str, int | None]
    """Group domains; None where several accounts share the domain (ambiguous)."""

    def of_group(self, message: Message) -> int | None:
        by_id = self.people.account_by_external_id.get(message.group_id or "")
        return by_id if by_id is not None else self.by_domain.get(message.domain or "")

    def of_identify(self, message: Message) -> int | None:
        by_id = self.people.account_by_external_id.get(message.group_id or "")
        if by_id is not None:
            return by_id
        return self.people.match(message.email, None).account_id


def _directory(connection: Connection, messages: Sequence[Message]) -> _Accounts:
    """The accounts these messages could name: by external id, contact email, domain."""
    emails = [m.email for m in messages if m.email]
    external_ids = [m.group_id for m in messages if m.group_id]
    domains = {m.domain for m in messages if m.domain}
    people = load_directory(connection, emails, external_ids)
    return _Accounts(people, _accounts_by_domain(connection, domains))


def _accounts_by_domain(connection: Connection, domains: Collection[str]) -> dict[str, int | None]:
    found: dict[str, int | None] = {}
    lowered = func.lower(Account.domain)
    ordered = sorted(domains)
    for begin in range(0, len(ordered), _CHUNK):
        query = select(lowered, Account.id).where(lowered.in_(ordered[begin : begin + _CHUNK]))
        for domain, account_id in connection.execute(query):
            found[domain] = None if domain in found else account_id
    return found


def _link(
    driver: _Driver,
    messages: Sequence[tuple[_Tally, Message]],
    accounts: _Accounts,
    now: dt.datetime,
) -> None:
    """Store the user → account links these group and identify calls make; a call that
    names no account counts as unmatched."""
    wanted: dict[str, tuple[int, str]] = {}
    for tally, message in messages:
        account = (
            accounts.of_group(message) if message.call == GROUP else accounts.of_identify(message)
        )
        if account is None:
            tally.unmatched += 1
            continue
        for key in message.users:
            held = wanted.get(key)
            if message.call == GROUP or held is None or held[1] != GROUP:
                wanted[key] = (account, message.call)
    at = driver.instant(now)
    # An identify call's email does not move a user a group call placed.
    driver.each(
        f"INSERT INTO {_LINKS.name} (user_key, account_id, linked_by, updated_at) "
        f"VALUES ({driver.marks(4)}) ON CONFLICT (user_key) DO UPDATE SET "
        "account_id = excluded.account_id, linked_by = excluded.linked_by, "
        f"updated_at = excluded.updated_at WHERE excluded.linked_by = '{GROUP}' "
        f"OR {_LINKS.name}.linked_by <> '{GROUP}'",
        [(key, account, call, at) for key, (account, call) in sorted(wanted.items())],
    )


def _attribute(
    driver: _Driver, tracks: Sequence[tuple[_Tally, Message]], accounts: _Accounts
) -> dict[tuple[int, dt.date], _Day]:
    """The track calls summed per (account, day); those of no account count as unmatched."""
    by_group = accounts.people.account_by_external_id
    placed = [(tally, m, by_group.get(m.group_id) if m.group_id else None) for tally, m in tracks]
    wanted = {key for _, m, account in placed if account is None for key in m.users}
    links: dict[str, int] = dict(
        driver.where_in(f"SELECT user_key, account_id FROM {_LINKS.name} WHERE user_key", wanted)
    )
    days: dict[tuple[int, dt.date], _Day] = {}
    for tally, message, account in placed:
        if account is None:
            for key in message.users:
                account = links.get(key)
                if account is not None:
                    break
            else:
                tally.unmatched += 1
                continue
        where = (account, message.at.date())
        totals = days.get(where)
        if totals is None:
            totals = days[where] = _Day()
        totals.events += 1
        totals.users.add(message.users[0])
        feature = message.feature
        if feature is not None:
            totals.features[feature] = totals.features.get(feature, 0) + 1
    return days


def _roll_up(
    driver: _Driver, days: Mapping[tuple[int, dt.date], _Day], known: KnownActiveUsers
) -> dict[dt.date, list[tuple[int, str]]]:
    """Add the day totals to `usage_daily`, counting only users new to their day; the
    (account, user) pairs written per day, for `known` to learn once committed.

    In (account, day) order, so concurrent requests lock rows in one order. Everything
    adds up inside the statements, feature counts key by key with the database's own
    JSON functions, so two requests adding to one day at once (PostgreSQL) both count,
    and no stored JSON makes a round trip through Python.
    """
    ordered = sorted(days.items())
    stored_day = {day: driver.day(day) for day in {day for _, day in days}}
    day_of = {held: day for day, held in stored_day.items()}
    written: dict[dt.date, list[tuple[int, str]]] = {day: [] for day in stored_day}
    rows = []
    for (account, day), totals in ordered:
        unknown, pairs = known.unknown(day), written[day]
        users = sorted(totals.users) if len(totals.users) > 1 else totals.users
        for key in users:
            if unknown((account, key)):
                pairs.append((account, key))
                rows.append((account, stored_day[day], key))
    new_users: Counter[tuple[int, dt.date]] = Counter(
        (account, day_of[held] if held in day_of else driver.read_day(held))
        for account, held in driver.returning(
            f"INSERT INTO {_ACTIVE.name} (account_id, day, user_key)",
            ("INTEGER", "DATE", "TEXT"),
            "ON CONFLICT (account_id, day, user_key) DO NOTHING RETURNING account_id, day",
            rows,
        )
    )
    if driver.postgres:
        _add_days_at_once(driver, ordered, stored_day, new_users)
        return written
    sql = _DailySql.of(driver)
    plain, featured, more = [], [], []
    for (account, day), totals in ordered:
        row = (account, stored_day[day], new_users[(account, day)], totals.events)
        features = totals.features
        if not features:
            plain.append(row)
            continue
        (name, count), *rest = features.items() if len(features) == 1 else sorted(features.items())
        featured.append((*row, name, count, *sql.key(name), count))
        more += [(*sql.key(name), count, account, stored_day[day]) for name, count in rest]
    driver.each(sql.plain, plain)
    driver.each(sql.featured, featured)
    driver.each(sql.more, more)
    return written


_ADD_DAYS_AT_ONCE = f"""
INSERT INTO {_DAILY.name} (account_id, day, active_users, events, sessions, feature_counts)
SELECT account_id, day, users, events, 0, CAST(features AS JSON)
FROM unnest(
    CAST(%s AS INTEGER[]), CAST(%s AS DATE[]), CAST(%s AS INTEGER[]), CAST(%s AS INTEGER[]),
    CAST(%s AS TEXT[])
) AS added (account_id, day, users, events, features)
ORDER BY account_id, day
ON CONFLICT (account_id, day) DO UPDATE SET
    active_users = {_DAILY.name}.active_users + excluded.active_users,
    events = {_DAILY.name}.events + excluded.events,
    feature_counts = CASE
        WHEN CAST(excluded.feature_counts AS TEXT) = '{{}}' THEN {_DAILY.name}.feature_counts
        ELSE (
            SELECT COALESCE(json_object_agg(name, total), CAST('{{}}' AS JSON))
            FROM (
                SELECT name, SUM(CAST(count AS BIGINT)) AS total
                FROM (
                    SELECT key, value FROM json_each_text({_DAILY.name}.feature_counts)
                    UNION ALL
                    SELECT key, value FROM json_each_text(excluded.feature_counts)
                ) AS counts (name, count)
                GROUP BY name
            ) AS summed
        )
    END
"""
"""`_roll_up`'s additions on PostgreSQL: every (account, day) of a transaction in one
statement, each day's feature counts added key by key to what is stored."""


def _add_days_at_once(
    driver: _Driver,
    ordered: Sequence[tuple[tuple[int, dt.date], _Day]],
    stored_day: Mapping[dt.date, Any],
    new_users: Counter[tuple[int, dt.date]],
) -> None:
    """Add the day totals on PostgreSQL in one statement over arrays.

    A statement per row, even pipelined, costs PostgreSQL a parse, a plan and an
    execution each: at a few rows per event that was most of the server's work, and
    ingestion ran at half the pace it does on SQLite. The arrays travel as one value
    each; rows are written in (account, day) order, so concurrent requests lock in one
    order, and the upsert adds to the row as it stands when it locks it, so two
    requests adding to one day at once both count.
    """
    columns: tuple[list[Any], ...] = ([], [], [], [], [])
    for (account, day), totals in ordered:
        values = (
            account,
            stored_day[day],
            new_users[(account, day)],
            totals.events,
            _JSON.encode(totals.features),
        )
        for column, value in zip(columns, values, strict=True):
            column.append(value)
    driver.rows_affected(_ADD_DAYS_AT_ONCE, columns)


@dataclass(frozen=True, slots=True)
class _DailySql:
    """The `usage_daily` statements of `_roll_up` on SQLite, in its JSON dialect.

    `plain` adds a day's numbers; `featured` also adds one feature's count; `more` adds
    another feature's count to a day already written. `key(name)` gives the values that
    address a feature in the JSON (the path `$."name"`, twice). SQLite runs in the
    process: a statement per row costs it little, unlike PostgreSQL (`_add_days_at_once`).
    """

    plain: str
    featured: str
    more: str

    @staticmethod
    def key(name: str) -> tuple[str, str]:
        where = f'$."{name}"'
        return where, where

    @staticmethod
    def of(driver: _Driver) -> _DailySql:
        table, m = _DAILY.name, driver.mark
        new, stored = "json_object(?, ?)", f"{table}.feature_counts"
        add = "json_set({0}, ?, COALESCE(json_extract({0}, ?), 0) + ?)"
        head = (
            f"INSERT INTO {table} (account_id, day, active_users, events, sessions, "
            f"feature_counts) VALUES ({m}, {m}, {m}, {m}, 0, "
        )
        numbers = (
            "ON CONFLICT (account_id, day) DO UPDATE SET "
            f"active_users = {table}.active_users + excluded.active_users, "
            f"events = {table}.events + excluded.events"
        )
        return _DailySql(
            plain=f"{head}'{{}}') {numbers}",
            featured=f"{head}{new}) {numbers}, feature_counts = {add.format(stored)}",
            more=(
                f"UPDATE {table} SET feature_counts = {add.format('feature_counts')} "
                f"WHERE account_id = {m} AND day = {m}"
            ),
        )


def _new_features(driver: _Driver, days: Mapping[tuple[int, dt.date], _Day]) -> dict[str, dt.date]:
    """Features first used on these days, or earlier than the feature list says."""
    first_used: dict[str, dt.date] = {}
    for (_, day), totals in days.items():
        for name in totals.features:
            if name not in first_used or day < first_used[name]:
                first_used[name] = day
    known = {
        name: driver.read_day(day)
        for name, day in driver.where_in(
            f"SELECT name, first_seen FROM {_FEATURES.name} WHERE name", first_used
        )
    }
    return {name: day for name, day in first_used.items() if name not in known or day < known[name]}


def _bump_inputs(driver: _Driver, accounts: Collection[int]) -> None:
    """`input_versions.bump` for these accounts, so their health is computed afresh.

    The same statement, in account order, last in the transaction; written for the driver
    because a request touches hundreds of accounts, and building the list through the
    SQL toolkit costs more than the update itself.
    """
    ordered = sorted(accounts)
    table = _ACCOUNTS.name
    sql = f"UPDATE {table} SET inputs_version = inputs_version + 1 WHERE id"
    for begin in range(0, len(ordered), _CHUNK):
        chunk = ordered[begin : begin + _CHUNK]
        if driver.postgres:
            driver.rows_affected(f"{sql} = ANY(%s)", [chunk])
        else:
            driver.rows_affected(f"{sql} IN ({driver.marks(len(chunk))})", chunk)
    if driver.postgres and ordered:
        # As `changes.announce`: replicas keeping whole answers learn at the commit.
        driver.rows(changes.NOTIFY_SQL, [])


def _watermark_before(driver: _Driver, through: dt.date) -> bool:
    """Whether the usage watermark is missing or earlier than `through`."""
    held = driver.rows(
        f"SELECT through FROM {_WATERMARKS.name} WHERE source = {driver.mark}", [watermarks.USAGE]
    )
    return not held or driver.read_day(held[0][0]) < through
