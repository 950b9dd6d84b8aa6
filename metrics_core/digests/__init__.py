"""Digests: subscriptions, their schedule, and the facts a digest reports."""
