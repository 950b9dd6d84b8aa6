"""Product-usage events over HTTP (`POST /ingest/usage`), from a product analytics tool.

The route's translation only: `usage.UsageIngest` checks the bearer token, decodes the
body and answers; reading the Segment-spec calls and storing them is the metrics'
(`metrics_core.usage`), so the same events mean the same usage however they arrive.
"""
