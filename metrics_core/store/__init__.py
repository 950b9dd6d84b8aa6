"""Storage: the data model, engines and transactions, migrations and bulk writes."""
