"""Background work inside the service.

The scheduler and its leader, the outbox dispatcher, digest runs, work in flight.
"""
