"""AWS Identity and Access Management: the API (provider.py and its resource-family
modules), the read API other parts of mamori use (repository.py) and the enforcement
(authorizer.py, owned separately)."""
