"""What operators see of a running service: structured logs and Prometheus metrics."""
