"""Survey answers and the scores CS teams read: NPS, CSAT and CES with honest intervals."""
