"""AWS Key Management Service (see provider.py)."""
