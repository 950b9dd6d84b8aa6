"""Product usage as it happens: events from the product's analytics tool, rolled up by day.

`closeloop import usage` loads daily rollups from a file; this package takes the events
themselves (`POST /ingest/usage`, read off the wire at the HTTP edge), as plain calls
(`events`), and adds them to the same daily tables health reads (`ingest`).
"""
