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
    ChartKind,
    Choice,
    Fact,
    Field,
    Form,
    Metric,
    Outcome,
    Reply,
    Series,
    Table,
    Threshold,
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


def _chart(chart: Chart) -> dict[str, Any]:
    return {
        "title": chart.title,
        "kind": chart.kind.value,
        "categories": list(chart.categories),
        "series": [[s.name, list(s.values)] for s in chart.series],
        "summary": chart.summary,
        "unit": chart.unit,
        "x_label": chart.x_label,
        "y_label": chart.y_label,
        "thresholds": [[t.label, t.value] for t in chart.thresholds],
    }


def _decode_chart(data: dict[str, Any]) -> Chart:
    if "points" in data:
        # Stored before charts had kinds: one unnamed trend line of labelled points.
        labels = tuple(str(label) for label, _ in data["points"])
        values = tuple(float(value) for _, value in data["points"])
        return Chart(
            title=data["title"],
            kind=ChartKind.LINE,
            categories=labels,
            series=(Series(data["title"], values),),
            summary=f"{labels[0]} to {labels[-1]}: {values[0]:g} to {values[-1]:g}"
            if labels
            else "no data",
            unit=data["unit"],
        )
    return Chart(
        title=data["title"],
        kind=ChartKind(data["kind"]),
        categories=tuple(data["categories"]),
        series=tuple(
            Series(name, tuple(float(v) for v in values)) for name, values in data["series"]
        ),
        summary=data["summary"],
        unit=data["unit"],
        x_label=data["x_label"],
        y_label=data["y_label"],
        thresholds=tuple(Threshold(label, float(value)) for label, value in data["thresholds"]),
    )


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
        "charts": [_chart(c) for c in reply.charts],
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
        charts=tuple(_decode_chart(c) for c in data["charts"]),
        visibility=Visibility(data["visibility"]),
        # Replies stored before outcomes existed were all answers.
        outcome=Outcome(data.get("outcome", Outcome.ANSWER)),
    )
