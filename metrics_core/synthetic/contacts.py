"""The people at each customer: who answers surveys and whom CSMs meet.

Contacts of one account get consecutive ids, so "a random contact of account i" is one
vectorised draw (first id + offset) for the survey and activity generators.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from metrics_core.synthetic.team import SEGMENTS
from metrics_core.synthetic.text import Picker, mailbox, person_name, vocabulary
from metrics_core.synthetic.window import IntArray, as_int

CONTACTS_RANGE = ((3, 6), (2, 5), (1, 3))  # per segment, both ends included
# Acme's people are fixed so the docs' webhook example (jane@acme.example) finds a contact.
ACME_CONTACTS = (
    ("Jane Doe", "jane", "VP of Operations"),
    ("Marcus Chen", "marcus.chen", "Director of Analytics"),
    ("Priya Raman", "priya.raman", "Head of Revenue Operations"),
    ("Tom Becker", "tom.becker", "IT Manager"),
)


@dataclass(frozen=True)
class ContactPlan:
    frame: pd.DataFrame
    first_id: IntArray  # per account, the id of its first contact (they are contiguous)
    count: IntArray
    names: list[str]  # by contact position (id - first contact id of all)
    emails: list[str]


def plan_contacts(
    ids: IntArray, segment: IntArray, domains: list[str], picker: Picker, id_base: int
) -> ContactPlan:
    """More stakeholders at bigger customers; mailboxes unique within each domain."""
    titles: dict[str, list[str]] = vocabulary()["titles"]
    account_ids: list[int] = []
    names: list[str] = []
    emails: list[str] = []
    roles: list[str] = []
    first_id = np.zeros(len(ids), dtype=np.int64)
    count = np.zeros(len(ids), dtype=np.int64)
    for i, (account_id, domain) in enumerate(zip(ids.tolist(), domains, strict=True)):
        seg = int(segment[i])
        first_id[i] = id_base + len(names) + 1
        if i == 0:
            people = [(name, f"{box}@{domain}", title) for name, box, title in ACME_CONTACTS]
        else:
            low, high = CONTACTS_RANGE[seg]
            people = []
            boxes: set[str] = set()
            for _ in range(picker.integer(low, high)):
                name = person_name(picker)
                while mailbox(name) in boxes:
                    name = person_name(picker)
                boxes.add(mailbox(name))
                title = picker.pick(titles[SEGMENTS[seg]])
                people.append((name, f"{mailbox(name)}@{domain}", title))
        for name, email, title in people:
            account_ids.append(account_id)
            names.append(name)
            emails.append(email)
            roles.append(title)
        count[i] = len(people)
    frame = pd.DataFrame(
        {
            "id": np.arange(1, len(names) + 1, dtype=np.int64) + id_base,
            "account_id": account_ids,
            "email": emails,
            "name": names,
            "title": roles,
        }
    )
    return ContactPlan(
        frame=frame, first_id=as_int(first_id), count=as_int(count), names=names, emails=emails
    )
