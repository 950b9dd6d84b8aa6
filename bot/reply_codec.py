"""A `Reply` as JSON and back, for messages decided now and sent later.

A digest is decided when its period is claimed and stored with its outbox row, so a
retry after a crash sends what was decided, not what the data says an hour later. The
encoding is the dataclasses' own fields: nothing platform-shaped is ever stored.
"""

from __future__ import annotations

from typing import Any

from bot.reply import (
    Action,
    Chart,
    Choice,
    Fact,
    Field,
    Form,
    Metric,
    Outcome,
    Reply,
    Table,
    Tone,
    Trend,
    Visibility,
)


def _action(action: Action) -> dict[str, Any]:
    form = action.form
    return {
        "action_id": action.action_id,
        "label": action.label,
        "payload": dict(action.payload),
        "primary": action.primary,
        "form": None
        if form is None
        else {
            "title": form.title,
            "submit": form.submit,
            "fields": [
                {
                    "name": f.name,
                    "label": f.label,
                    "choices": [[c.value, c.label] for c in f.choices],
                    "multiline": f.multiline,
                    "optional": f.optional,
                    "initial": f.initial,
                }
                for f in form.fields
            ],
        },
    }


def encode(reply: Reply) -> dict[str, Any]:
    return {
        "heading": reply.heading,
        "paragraphs": list(reply.paragraphs),
        "metrics": [
            {
                "label": m.label,
                "value": m.value,
                "delta": m.delta,
                "trend": m.trend.value if m.trend else None,
                "tone": m.tone.value,
                "detail": m.detail,
            }
            for m in reply.metrics
        ],
        "facts": [[f.label, f.value] for f in reply.facts],
        "tables": [
            {"columns": list(t.columns), "rows": [list(r) for r in t.rows], "title": t.title}
            for t in reply.tables
        ],
        "notes": list(reply.notes),
        "actions": [_action(a) for a in reply.actions],
        "charts": [
            {
                "title": c.title,
                "points": [[label, value] for label, value in c.points],
                "unit": c.unit,
            }
            for c in reply.charts
        ],
        "visibility": reply.visibility.value,
        "outcome": reply.outcome.value,
    }


def _form(data: dict[str, Any] | None) -> Form | None:
    if data is None:
        return None
    return Form(
        title=data["title"],
        submit=data["submit"],
        fields=tuple(
            Field(
                name=f["name"],
                label=f["label"],
                choices=tuple(Choice(value, label) for value, label in f["choices"]),
                multiline=f["multiline"],
                optional=f["optional"],
                initial=f["initial"],
            )
            for f in data["fields"]
        ),
    )


def decode(data: dict[str, Any]) -> Reply:
    return Reply(
        heading=data["heading"],
        paragraphs=tuple(data["paragraphs"]),
        metrics=tuple(
            Metric(
                label=m["label"],
                value=m["value"],
                delta=m["delta"],
                trend=Trend(m["trend"]) if m["trend"] else None,
                tone=Tone(m["tone"]),
                detail=m["detail"],
            )
            for m in data["metrics"]
        ),
        facts=tuple(Fact(label, value) for label, value in data["facts"]),
        tables=tuple(
            Table(tuple(t["columns"]), tuple(tuple(r) for r in t["rows"]), t["title"])
            for t in data["tables"]
        ),
        notes=tuple(data["notes"]),
        actions=tuple(
            Action(
                action_id=a["action_id"],
                label=a["label"],
                payload=a["payload"],
                primary=a["primary"],
                form=_form(a["form"]),
            )
            for a in data["actions"]
        ),
        charts=tuple(
            Chart(c["title"], tuple((label, float(v)) for label, v in c["points"]), c["unit"])
            for c in data["charts"]
        ),
        visibility=Visibility(data["visibility"]),
        # Replies stored before outcomes existed were all answers.
        outcome=Outcome(data.get("outcome", Outcome.ANSWER)),
    )
