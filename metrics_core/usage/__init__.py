"""Product usage as it happens: events from the product's analytics tool, rolled up by day.

`closeloop import usage` loads daily rollups from a file; this package takes the events
themselves (`POST /ingest/usage`), in the shape analytics tools forward them
(`events`), and adds them to the same daily tables health reads (`ingest`).
"""
