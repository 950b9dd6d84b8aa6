"""The platform-neutral bot: commands, router and the `Reply` every adapter renders."""
