"""The shell on top of the house: the ``shudi`` command line (``console.cli``) and the loaders
of the sample district, demo cases, contacts and users (``console.demo*``).

It may import every package; nothing imports it (the layering is written down in
docs/design.md and held by the import contracts in pyproject.toml).
"""
