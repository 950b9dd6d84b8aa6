"""Account health.

The point-in-time inputs, the scorecard, the cache per account and the daily snapshot.
"""
