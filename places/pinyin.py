"""Names to toneless pinyin, and search text to what the ``place`` table is matched with.

A name becomes three strings (see the migration ``0015``): ``pinyin`` run together, the
``initials`` and the space-separated ``syllables``. Characters that are not Chinese are kept as
lower-case runs of letters and digits (梧桐路12号 → ``wu tong lu 12 hao``; initials
``wtl12h``); punctuation and spaces are dropped. 绿 is ``lv``, as people type it.

A query in Latin letters is matched against the syllables: each letter either continues the
syllable the previous one is in, or starts the next syllable (``mixed``: ``tey``, ``tianey``,
``tianeyay`` all find 天鹅雅苑); ``gapped`` may also skip whole syllables (``tiany``: 天 …
雅). :func:`syllable_pattern` writes these as PostgreSQL regular expressions.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from pypinyin import Style, lazy_pinyin, load_single_dict

_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_RUN = re.compile(r"[a-z0-9]+")
MAX_QUERY = 40  # characters of a query that are looked at

# Readings of place-name characters whose everyday reading pypinyin's default misses:
# 幢 in addresses is zhuàng (3幢, "building 3"), 弄 in lane names lòng (弄堂), 堡 in place
# names varies by region and is left to pypinyin.
load_single_dict({ord("幢"): "zhuàng,chuáng", ord("弄"): "lòng,nòng"})


@dataclass(frozen=True)
class Romanised:
    pinyin: str
    initials: str
    syllables: str


def _tokens(name: str) -> list[tuple[str, bool]]:
    """(token, is_chinese) in order."""
    out: list[tuple[str, bool]] = []
    for chunk in lazy_pinyin(name, style=Style.NORMAL, errors=lambda text: f"\0{text}"):
        if chunk.startswith("\0"):
            text = unicodedata.normalize("NFKC", chunk[1:]).lower()
            out.extend((run, False) for run in _RUN.findall(text))
        else:
            out.append((chunk.lower().replace("ü", "v"), True))
    return out


def romanise(name: str) -> Romanised:
    """The pinyin forms of a name.

    >>> romanise("天鹅雅苑")
    Romanised(pinyin='tianeyayuan', initials='teyy', syllables='tian e ya yuan')
    >>> romanise("梧桐路12号").initials
    'wtl12h'
    """
    tokens = _tokens(name)
    return Romanised(
        pinyin="".join(t for t, _ in tokens),
        initials="".join(t[0] if han else t for t, han in tokens),
        syllables=" ".join(t for t, _ in tokens),
    )


def normalise_query(q: str) -> str:
    """The query as searched: NFKC, control characters dropped, trimmed, at most
    :data:`MAX_QUERY` characters."""
    text = unicodedata.normalize("NFKC", q or "")
    text = "".join(c for c in text if unicodedata.category(c)[0] != "C")
    return text.strip()[:MAX_QUERY]


def latin_key(q: str) -> str | None:
    """The letters and digits of a query typed in Latin letters (``Tian'e Ya`` → ``tianeya``);
    ``None`` when it has Chinese characters or nothing searchable."""
    text = normalise_query(q).lower()
    if _HAN.search(text):
        return None
    key = "".join(_RUN.findall(text))
    return key or None


def has_chinese(q: str) -> bool:
    return bool(_HAN.search(q or ""))


def syllable_pattern(key: str, *, gapped: bool) -> str:
    """A regular expression over ``syllables`` for a Latin key (letters and digits only).

    Between two letters of the key: nothing (same syllable), or the rest of the syllable and a
    space (the next one); when ``gapped``, any number of whole syllables may be skipped too.

    >>> syllable_pattern("tey", gapped=False)
    '(?:^| )t(?:[a-z0-9]* )?e(?:[a-z0-9]* )?y'
    >>> import re
    >>> bool(re.search(syllable_pattern("tiany", gapped=True), "tian e ya yuan"))
    True
    >>> bool(re.search(syllable_pattern("tiany", gapped=False), "tian e ya yuan"))
    False
    """
    if not key or not _RUN.fullmatch(key):
        raise ValueError(f"not a search key: {key!r}")
    step = "(?:[a-z0-9 ]* )?" if gapped else "(?:[a-z0-9]* )?"  # no captures: faster in PG
    return "(?:^| )" + step.join(key)
