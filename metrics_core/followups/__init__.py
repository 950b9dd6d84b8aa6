"""Closing the loop.

Survey answers taken in, follow-ups claimed and closed, the SLA, and how well the team
keeps it.
"""
