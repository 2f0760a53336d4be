"""Documents built from data — headings, paragraphs, tables, charts — rendered as PDF, Excel or
HTML (``documents.pdf``, ``documents.xlsx``, ``documents.html``). No database access here."""
