"""The outside worlds Closeloop talks to: Slack, Microsoft Teams, survey tools, and the terminal."""
