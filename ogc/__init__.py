"""OGC API – Features (Part 1 Core with GeoJSON, Part 2 CRS by reference) under ``/ogc``.

``crs`` names the coordinate reference systems served, ``params`` reads a request's query,
``catalog`` says which collections exist and describes them, ``items`` holds the SQL (in named
pieces) that answers ``/items``, ``documents`` shapes the landing page, conformance and
collection documents, ``router`` is the thin HTTP layer. See docs/ogc.md.
"""
