"""The web playground: the bot's replies as an HTML page, for anyone without Slack or Teams."""
