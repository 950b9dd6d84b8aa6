"""Accounts and the people around them.

Finding an account by what people call it, the CS team, survey respondents.
"""
