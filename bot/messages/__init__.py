"""What the bot says without a command: survey and account alerts, digests, the home view."""
