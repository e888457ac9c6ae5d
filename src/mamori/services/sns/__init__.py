"""Amazon SNS (see provider.py)."""
