"""Slack: slack-bolt on aiohttp, Block Kit rendering, the App Home."""
