"""The CS team: CSMs sized to realistic books, and the managers they report to.

The first eight CSMs and the first two managers have fixed names and chat identities
(`U0CSM1` … `U0CSM8`, `U0MGR1`, `U0MGR2`) whatever the seed, because docs, examples and
tests address them by those ids. CSMs specialise by segment, as most CS teams do, and
are numbered Enterprise first so that `U0CSM1` (Acme's owner) is an Enterprise CSM.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from metrics_core.synthetic.text import Picker, mailbox, person_name, vocabulary
from metrics_core.synthetic.window import IntArray

SEGMENTS = ("Enterprise", "Mid-market", "SMB")
ENTERPRISE, MID_MARKET, SMB = 0, 1, 2
# Accounts one CSM can look after: high touch for Enterprise, pooled for SMB.
BOOK_SIZE = (20, 70, 300)
MIN_CSMS = 8
CSMS_PER_MANAGER = 8
TEAM_DOMAIN = "closeloop.example"


def csm_aad_object_id(number: int) -> str:
    """CSM n's Teams AAD object id: a valid version-4 GUID that tests can spell out."""
    return f"00000000-0000-4000-8000-{number:012d}"


def manager_aad_object_id(number: int) -> str:
    return f"00000000-0000-4000-9000-{number:012d}"


@dataclass(frozen=True)
class TeamPlan:
    frame: pd.DataFrame
    # The CSMs covering each segment, in the order books are handed out.
    csm_ids: tuple[IntArray, IntArray, IntArray]
    first_names: dict[int, str]


def csms_per_segment(segment_counts: Sequence[int]) -> list[int]:
    """Enough CSMs for realistic books, at least eight, extra ones where books are fullest."""
    counts = list(segment_counts)
    per = [math.ceil(c / BOOK_SIZE[s]) for s, c in enumerate(counts)]
    per[ENTERPRISE] = max(per[ENTERPRISE], 1)
    while sum(per) < MIN_CSMS:
        spare = [s for s in range(3) if per[s] < counts[s]]
        if not spare:
            per[ENTERPRISE] += 1
            continue
        target = max(spare, key=lambda s: counts[s] / max(per[s], 1) / BOOK_SIZE[s])
        per[target] += 1
    return per


def plan_team(segment_counts: Sequence[int], picker: Picker, id_base: int) -> TeamPlan:
    """Managers first (CSMs reference them), then CSMs numbered Enterprise → SMB."""
    per_segment = csms_per_segment(segment_counts)
    n_csms = sum(per_segment)
    n_managers = max(2, math.ceil(n_csms / CSMS_PER_MANAGER))
    fixed = vocabulary()["team_fixed"]
    used_emails: set[str] = set()

    def unique_name(fixed_names: list[str], number: int) -> str:
        name = fixed_names[number - 1] if number <= len(fixed_names) else person_name(picker)
        while mailbox(name) in used_emails:
            name = person_name(picker)
        used_emails.add(mailbox(name))
        return name

    ids: list[int] = []
    names: list[str] = []
    roles: list[str] = []
    user_ids: list[str] = []
    aad: list[str] = []
    managers: list[int | None] = []
    for number in range(1, n_managers + 1):
        ids.append(id_base + number)
        names.append(unique_name(fixed["managers"], number))
        roles.append("manager")
        user_ids.append(f"U0MGR{number}")
        aad.append(manager_aad_object_id(number))
        managers.append(None)
    for number in range(1, n_csms + 1):
        ids.append(id_base + n_managers + number)
        names.append(unique_name(fixed["csms"], number))
        roles.append("csm")
        user_ids.append(f"U0CSM{number}")
        aad.append(csm_aad_object_id(number))
        # Consecutive CSMs share a manager, so managers lead segment-aligned teams.
        managers.append(id_base + 1 + (number - 1) * n_managers // n_csms)
    frame = pd.DataFrame(
        {
            "id": ids,
            "email": [f"{mailbox(n)}@{TEAM_DOMAIN}" for n in names],
            "name": names,
            "role": roles,
            "slack_user_id": user_ids,
            "teams_aad_object_id": aad,
            "manager_id": pd.array(managers, dtype="Int64"),
            "active": [True] * len(ids),
        }
    )
    csm_ids = np.asarray(ids[n_managers:], dtype=np.int64)
    bounds = np.cumsum([0, *per_segment])
    by_segment = (
        csm_ids[bounds[0] : bounds[1]],
        csm_ids[bounds[1] : bounds[2]],
        csm_ids[bounds[2] : bounds[3]],
    )
    first_names = {i: n.split(" ")[0] for i, n in zip(ids, names, strict=True)}
    return TeamPlan(frame=frame, csm_ids=by_segment, first_names=first_names)
