"""Messages owed to people.

The outbox, where alerts go, conversations the bot may write in, events already
received.
"""
