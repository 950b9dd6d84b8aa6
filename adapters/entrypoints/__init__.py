"""How Closeloop is started: the command line, the service, and its HTTP application."""
