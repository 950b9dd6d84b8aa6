"""Microsoft Teams: the only package that may know Adaptive Cards, app packages or botbuilder."""
