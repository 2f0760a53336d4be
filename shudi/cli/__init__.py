"""The ``shudi`` command line."""
