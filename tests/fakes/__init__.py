"""Local stand-ins for the remote platforms, spoken to over real HTTP on loopback."""
