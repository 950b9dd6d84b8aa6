"""Data model, ingestion and the customer-success metrics; knows no chat platform."""
