"""Everything that touches the outside world: chat platforms, HTTP, the CLI, the scheduler."""
