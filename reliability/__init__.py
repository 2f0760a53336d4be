"""The reliability suite (``make reliability``): PostgreSQL killed under a burst of reports,
the service under the dispatchers' and residents' load, the API fuzzed; figures into
docs/reliability.md."""
