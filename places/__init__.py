"""Place search: estates, communities, towns, roads, addresses and POIs found by name, part of
a name, pinyin or pinyin initials (天鹅雅苑 from ``tianeyayuan``, ``tiany`` or ``tey``).

* :mod:`places.pinyin` — names to pinyin, queries to patterns;
* :mod:`places.store` — the only writer of the ``place`` and ``place_dataset`` tables;
* :mod:`places.search` — the ranked search (``GET /api/v1/places``);
* :mod:`places.gazetteer` — ``shudi places import``: a gazetteer file, read and validated;
* :mod:`places.sample` — the sample district's generated gazetteer.
"""
