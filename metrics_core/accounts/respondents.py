"""Who answered a survey: matching a respondent to an account and contact.

CSV imports and survey webhooks both receive answers that may or may not name the
account. The rule for attaching them lives here once, in `Directory.match`, so an answer
lands on the same account whichever way it arrived:

1. an `account_external_id` that names a known account wins;
2. otherwise a contact with the respondent's email gives its account (and the contact);
3. otherwise an account whose `domain` is the email's domain, if exactly one has it
   (two accounts sharing a domain is ambiguous, and a wrong match is worse than none);
4. otherwise the answer stays unmatched (`account_id` None). It is never dropped: an
   unmatched detractor still needs someone to close the loop.

Emails and domains compare case-insensitively.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import ColumnElement, Connection, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from metrics_core.store.models import Account, Contact

MatchedBy = Literal["account_external_id", "contact_email", "domain", "unmatched"]

_IN_CHUNK = 5_000


@dataclass(frozen=True, slots=True)
class RespondentMatch:
    account_id: int | None
    contact_id: int | None
    matched_by: MatchedBy


@dataclass(frozen=True, slots=True)
class ContactRef:
    contact_id: int
    account_id: int


@dataclass(frozen=True)
class Directory:
    """The accounts and contacts relevant to some answers, keyed the way `match` looks up.

    `account_by_domain` maps a domain to None when several accounts share it.
    """

    account_by_external_id: Mapping[str, int]
    contact_by_email: Mapping[str, ContactRef]
    account_by_domain: Mapping[str, int | None]

    def match(self, email: str | None, account_external_id: str | None) -> RespondentMatch:
        """The one matching rule (see the module docstring)."""
        address = (email or "").strip().lower()
        contact = self.contact_by_email.get(address) if address else None
        account_id = self.account_by_external_id.get((account_external_id or "").strip())
        if account_id is not None:
            contact_id = (
                contact.contact_id if contact and contact.account_id == account_id else None
            )
            return RespondentMatch(account_id, contact_id, "account_external_id")
        if contact is not None:
            return RespondentMatch(contact.account_id, contact.contact_id, "contact_email")
        domain_account = self.account_by_domain.get(email_domain(address) or "")
        if domain_account is not None:
            return RespondentMatch(domain_account, None, "domain")
        return RespondentMatch(None, None, "unmatched")


def email_domain(email: str | None) -> str | None:
    """The lower-cased part after the last "@", or None when there is none."""
    if not email or "@" not in email:
        return None
    domain = email.rsplit("@", 1)[1].strip().lower()
    return domain or None


def load_directory(
    connection: Connection, emails: Iterable[str | None], external_ids: Iterable[str | None]
) -> Directory:
    """Read only the accounts and contacts these emails and external ids could match."""
    addresses = {e.strip().lower() for e in emails if e and e.strip()}
    domains = {d for d in map(email_domain, addresses) if d}
    wanted_ids = {x.strip() for x in external_ids if x and x.strip()}

    by_external_id: dict[str, int] = {}
    for where in _in_chunks(Account.external_id, wanted_ids):
        by_external_id.update(
            connection.execute(select(Account.external_id, Account.id).where(where)).all()
        )

    contacts: dict[str, ContactRef] = {}
    lowered_email = func.lower(Contact.email)
    for where in _in_chunks(lowered_email, addresses):
        query = select(lowered_email, Contact.id, Contact.account_id).where(where)
        for address, contact_id, account_id in connection.execute(query):
            contacts.setdefault(address, ContactRef(contact_id, account_id))

    by_domain: dict[str, int | None] = {}
    lowered_domain = func.lower(Account.domain)
    for where in _in_chunks(lowered_domain, domains):
        for domain, account_id in connection.execute(
            select(lowered_domain, Account.id).where(where)
        ):
            by_domain[domain] = None if domain in by_domain else account_id
    return Directory(by_external_id, contacts, by_domain)


def _in_chunks(
    column: ColumnElement[str] | InstrumentedAttribute[str], values: Collection[str]
) -> Iterator[ColumnElement[bool]]:
    ordered = sorted(values)
    for begin in range(0, len(ordered), _IN_CHUNK):
        yield column.in_(ordered[begin : begin + _IN_CHUNK])


def match_respondent(
    session: Session, email: str | None, account_external_id: str | None = None
) -> RespondentMatch:
    """Match one answer (a survey webhook) with a few indexed look-ups."""
    directory = load_directory(session.connection(), [email], [account_external_id])
    return directory.match(email, account_external_id)


def match_respondents(
    connection: Connection, answers: Sequence[tuple[str | None, str | None]]
) -> list[RespondentMatch]:
    """Match many (email, account_external_id) pairs (an import) with one directory read."""
    directory = load_directory(connection, (e for e, _ in answers), (x for _, x in answers))
    return [directory.match(email, external_id) for email, external_id in answers]
