"""The annual assessment (年度考核): per agency, agency unit and town/street, figures of the
linkage work computed in SQL from the case events (definitions in docs/assessment.md)."""
