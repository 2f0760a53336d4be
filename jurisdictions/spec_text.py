"""The specification's text read as structure: the parties of section 二 with their numbered
items (by position), and the parts of section 三 — what the taxonomy's ``source_ref``
references point into (:mod:`jurisdictions.taxonomy`). Pure Python."""

from __future__ import annotations

import re
from dataclasses import dataclass

_DIGITS = {c: n for n, c in enumerate("零一二三四五六七八九")} | {"〇": 0}
_NUMERAL = "零〇一二三四五六七八九十"
_SECTION_RE = re.compile(rf"^([{_NUMERAL}]+)、")
_PART_RE = re.compile(rf"^[（(]([{_NUMERAL}]+)[）)]\s*(.*)$")
_ITEM_RE = re.compile(r"^(\d+)\s*[．.]\s*(.*)$")


def chinese_numeral(text: str) -> int:
    """一 → 1, 十 → 10, 十一 → 11, 二十三 → 23 (up to 99)."""
    tens, sep, ones = text.partition("十")
    if not sep and len(text) == 1 and text in _DIGITS:
        return _DIGITS[text]
    if sep and len(tens) <= 1 and len(ones) <= 1 and {tens, ones} <= set(_DIGITS) | {""}:
        return (_DIGITS[tens] if tens else 1) * 10 + (_DIGITS[ones] if ones else 0)
    raise ValueError(f"not a Chinese numeral below 100: {text!r}")


def _section_lines(text: str, number: int) -> list[str]:
    """The stripped lines of top-level section ``number`` (二、…), up to the next section."""
    lines: list[str] | None = None
    for raw in text.splitlines():
        line = raw.strip().lstrip("\ufeff").strip()
        heading = _SECTION_RE.match(line)
        if heading:
            if lines is not None:
                break
            if chinese_numeral(heading.group(1)) == number:
                lines = []
            continue
        if lines is not None and line:
            lines.append(line)
    if lines is None:
        raise ValueError(f"the text has no section {number} (a line starting with its numeral、)")
    return lines


@dataclass(frozen=True)
class SpecParty:
    """A party heading of section 二 and its numbered items."""

    number: int
    title: str
    """The heading up to the first colon, e.g. 区房地产服务中心."""
    duties: str
    """The heading's paragraph after the first colon, verbatim."""
    items: tuple[str, ...]
    """The numbered items' texts, in order (their written numbers are ignored)."""

    @property
    def refs(self) -> list[str]:
        """``"P.I"`` for every item, by position."""
        return [f"{self.number}.{i}" for i in range(1, len(self.items) + 1)]


def parse_section_two(text: str) -> list[SpecParty]:
    """The parties of section 二 (（一）..（十一） headings) with their numbered items.

    Items are lines starting with a number followed by "．" or "."; they belong to the party
    heading above them and are numbered by position. Raises ``ValueError`` when section 二 is
    missing, a party heading repeats or goes backwards, or an item comes before any heading.
    """
    parties: list[SpecParty] = []
    number: int | None = None
    title = duties = ""
    items: list[str] = []

    def close() -> None:
        if number is not None:
            parties.append(SpecParty(number, title, duties, tuple(items)))

    for line in _section_lines(text, 2):
        heading = _PART_RE.match(line)
        if heading:
            close()
            new = chinese_numeral(heading.group(1))
            if number is not None and new <= number:
                raise ValueError(f"party （{heading.group(1)}） of section 二 is out of order")
            number, items = new, []
            head = heading.group(2)
            colon = re.search(r"[：:]", head)
            title, duties = (head[: colon.start()], head[colon.end() :]) if colon else (head, "")
            continue
        item = _ITEM_RE.match(line)
        if item:
            if number is None:
                raise ValueError(f"numbered item before any party heading in section 二: {line}")
            items.append(item.group(2))
    close()
    return parties


def section_two_items(text: str) -> list[str]:
    """Every numbered item of section 二 as ``"P.I"`` (party P, item I by position), in order."""
    return [ref for party in parse_section_two(text) for ref in party.refs]


def section_three_parts(text: str) -> list[str]:
    """The parts （一）, （二）, … of section 三 as ``"S3.1"``, ``"S3.2"``, …."""
    return [
        f"S3.{chinese_numeral(m.group(1))}"
        for m in map(_PART_RE.match, _section_lines(text, 3))
        if m
    ]
