"""The base every other package stands on: settings, the warehouse, clock, times, errors, domains.

It imports no other package of the project (checked by the import-linter contracts in pyproject.toml).
"""
