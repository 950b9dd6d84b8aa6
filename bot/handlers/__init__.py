"""Command handlers: each turns a request into a `Reply` using `metrics_core`."""
