"""The agenda of a town's joint meeting (联席会议, 三（一）), built from the case store.

Each rule is one small function from a :class:`Window` to agenda items; every item lists the
cases it is about. The rules and their thresholds are described in docs/design.md ("Joint
meetings"). Cases merged into another are never counted (the surviving case stands for them).
"""

from __future__ import annotations

import importlib
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, text

from incidents.queries import CASE_ROWS, COUNTED, TYPED_CASE_ROWS, UNFINISHED
from jurisdictions.active import ACTIVE_BOUNDARIES

#: Months, due dates and "today" are counted in China Standard Time.
TZ = ZoneInfo("Asia/Shanghai")
#: A place with this many cases of one kind within REPEAT_DAYS is a repeat location.
REPEAT_MIN_CASES = 3
REPEAT_DAYS = 90
#: Side of the square cells (metres, in the UTM zone of the town) for cases outside estates.
CELL_M = 100
#: Fallback hotspot rule: a community with at least HOT_FACTOR x the median count of the town's
#: communities in the month, and at least HOT_MIN_CASES cases.
HOT_FACTOR = 2.0
HOT_MIN_CASES = 3

OPEN = UNFINISHED
BASE = f"c.town_code = :town AND {COUNTED} AND c.created_at < :as_of"
PLACE = """COALESCE(NULLIF(c.routing->'property_area'->>'name', ''),
                    c.routing->'territory'->'community'->>'name', '')"""


@dataclass(frozen=True)
class Window:
    """What an agenda is built for: a town, a month, and the moment it reflects."""

    town: str
    month: date
    start: datetime
    end: datetime
    as_of: datetime
    meeting_id: int | None = None

    @property
    def until(self) -> datetime:
        """The end of the month, or the moment of preparation if earlier."""
        return min(self.end, self.as_of)

    def params(self) -> dict[str, Any]:
        """The bind parameters every rule's SQL uses."""
        return {
            "town": self.town,
            "start": self.start,
            "end": self.end,
            "until": self.until,
            "as_of": self.as_of,
        }


@dataclass(frozen=True)
class Item:
    """One agenda item: what kind, a title in Chinese, its cases, and rule details."""

    kind: str
    title: str
    case_ids: list[int]
    data: dict[str, Any] = field(default_factory=dict)


def window(*, town: str, month: date, as_of: datetime, meeting_id: int | None = None) -> Window:
    """The window of ``month`` (its first day) in China time, reflecting ``as_of``."""
    start = datetime(month.year, month.month, 1, tzinfo=TZ)
    nxt = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    end = datetime(nxt.year, nxt.month, 1, tzinfo=TZ)
    return Window(town, month, start, end, as_of, meeting_id)


def _rows(conn: Connection, sql: str, w: Window, **extra: Any) -> Sequence[Any]:
    return conn.execute(text(sql), w.params() | extra).all()


def followups(conn: Connection, w: Window) -> list[Item]:
    """Actions of this town's earlier held meetings that are not done yet."""
    rows = _rows(
        conn,
        """SELECT a.id, a.title, a.owner_name, a.owner_code, a.due_on, m.held_on, m.kind,
                  i.case_ids
           FROM meeting_action a JOIN meeting m ON m.id = a.meeting_id
           JOIN meeting_item i ON i.id = a.item_id
           WHERE m.town_code = :town AND m.status = 'held' AND a.done_on IS NULL
             AND m.id IS DISTINCT FROM CAST(:meeting AS bigint)
             AND m.held_on <= CAST(:today AS date) AND m.month <= :month
           ORDER BY a.due_on, a.id""",
        w,
        meeting=w.meeting_id,
        today=w.as_of.astimezone(TZ).date(),
        month=w.month,
    )
    today = w.as_of.astimezone(TZ).date()
    return [
        Item(
            "action_followup",
            f"跟进：{r.title}（责任单位：{r.owner_name or r.owner_code}，"
            f"{r.due_on.isoformat()} 到期{'，已逾期' if r.due_on < today else ''}；"
            f"{r.held_on.isoformat()} 会议决定）",
            [int(i) for i in r.case_ids],
            {"action_id": int(r.id), "due_on": r.due_on.isoformat(), "overdue": r.due_on < today},
        )
        for r in rows
    ]


def overdue(conn: Connection, w: Window) -> list[Item]:
    """Cases still open past their deadline, one item per handler (agency unit, company)."""
    rows = _rows(
        conn,
        f"""SELECT c.handler_party, c.handler_name AS handler,
                   array_agg(c.id ORDER BY c.due_at, c.id) AS ids
            FROM {CASE_ROWS} WHERE {BASE} AND {OPEN} AND c.due_at < :as_of
            GROUP BY 1, 2 ORDER BY 1, 2""",
        w,
    )
    return [
        Item(
            "overdue",
            f"超期未办结：{r.handler}，{len(r.ids)} 件",
            list(r.ids),
            {"handler_party": r.handler_party},
        )
        for r in rows
    ]


def joint(conn: Connection, w: Window) -> list[Item]:
    """Cases under joint enforcement (the town coordinates, 三（二）), one item per case."""
    rows = _rows(
        conn,
        f"""SELECT c.id, vt.name_zh AS type_name, {PLACE} AS place,
                   COALESCE(string_agg(a.name_zh, '、' ORDER BY t.id)
                            FILTER (WHERE NOT t.done), '') AS pending
            FROM {TYPED_CASE_ROWS}
            LEFT JOIN case_task t ON t.case_id = c.id AND t.kind = 'joint'
            LEFT JOIN agency a ON a.code = t.party
            WHERE {BASE} AND c.status = 'joint'
            GROUP BY c.id, vt.name_zh ORDER BY c.id""",
        w,
    )
    return [
        Item(
            "joint",
            f"联合执法：{r.type_name}（{r.place}）"
            + (f"，待完成：{r.pending}" if r.pending else ""),
            [int(r.id)],
        )
        for r in rows
    ]


def referred_repeatedly(conn: Connection, w: Window) -> list[Item]:
    """Cases referred more than once: open ones, and closed ones referred in the month."""
    rows = _rows(
        conn,
        f"""SELECT c.id, vt.name_zh AS type_name, {PLACE} AS place, c.handler_name,
                   count(*) AS n
            FROM {TYPED_CASE_ROWS}
            JOIN case_event e ON e.case_id = c.id AND e.action = 'refer' AND e.at < :as_of
            WHERE {BASE}
            GROUP BY c.id, vt.name_zh
            HAVING count(*) >= 2
               AND (c.status NOT IN ('closed', 'rejected') OR max(e.at) >= :start)
            ORDER BY c.id""",
        w,
    )
    return [
        Item(
            "referred_repeatedly",
            f"多次转办（{r.n} 次）：{r.type_name}（{r.place}），现由{r.handler_name}办理",
            [int(r.id)],
            {"referrals": int(r.n)},
        )
        for r in rows
    ]


def disputes(conn: Connection, w: Window) -> list[Item]:
    """Unresolved disputes: open cases of scope ``dispute``, and open cases residents disputed."""
    rows = _rows(
        conn,
        f"""SELECT c.id, vt.name_zh AS type_name, {PLACE} AS place, c.scope,
                   EXISTS (SELECT 1 FROM case_event e WHERE e.case_id = c.id
                           AND e.action = 'dispute' AND e.at < :as_of) AS disputed
            FROM {TYPED_CASE_ROWS}
            WHERE {BASE} AND c.status NOT IN ('closed', 'rejected')
              AND (c.scope = 'dispute' OR EXISTS (SELECT 1 FROM case_event e
                   WHERE e.case_id = c.id AND e.action = 'dispute' AND e.at < :as_of))
            ORDER BY c.id""",
        w,
    )
    return [
        Item(
            "dispute",
            (
                f"群众对处理结果有异议：{r.type_name}（{r.place}）"
                if r.disputed
                else f"未解决纠纷：{r.type_name}（{r.place}）"
            ),
            [int(r.id)],
            {"scope": r.scope, "disputed_by_resident": bool(r.disputed)},
        )
        for r in rows
    ]


REPEAT = f"""
WITH zone AS (
  SELECT CASE WHEN ST_Y(p) >= 0 THEN 32600 ELSE 32700 END
         + floor((ST_X(p) + 180) / 6)::int + 1 AS srid
  FROM (SELECT ST_Centroid(ST_Collect(c.geom)) AS p FROM {CASE_ROWS} WHERE c.town_code = :town) t
), recent AS (
  SELECT c.id, c.type_code, c.created_at, c.property_area_code, c.community_code,
         {PLACE} AS place, vt.name_zh AS type_name,
         CASE WHEN c.property_area_code IS NOT NULL THEN 'estate:' || c.property_area_code
              ELSE 'cell:' || floor(ST_X(q.p) / :cell)::bigint || ':'
                           || floor(ST_Y(q.p) / :cell)::bigint END AS place_key
  FROM {TYPED_CASE_ROWS}
  CROSS JOIN zone
  CROSS JOIN LATERAL (SELECT ST_Transform(c.geom, zone.srid) AS p) q
  WHERE {BASE} AND c.status <> 'rejected' AND c.created_at >= :since
)
SELECT place_key, type_code, min(type_name) AS type_name, min(place) AS place,
       bool_or(property_area_code IS NOT NULL) AS estate,
       array_agg(id ORDER BY created_at, id) AS ids
FROM recent GROUP BY place_key, type_code HAVING count(*) >= :n
ORDER BY place_key, type_code
"""


def repeat_locations(conn: Connection, w: Window) -> list[Item]:
    """One kind of case at least REPEAT_MIN_CASES times in REPEAT_DAYS days at one place.

    The place is the estate (property management area) when the case is in one, else the
    CELL_M-metre square of the town's UTM zone that holds it.
    """
    rows = _rows(
        conn,
        REPEAT,
        w,
        since=w.as_of - timedelta(days=REPEAT_DAYS),
        cell=CELL_M,
        n=REPEAT_MIN_CASES,
    )
    return [
        Item(
            "repeat_location",
            f"重复发生：{r.type_name}，{r.place}"
            + ("" if r.estate else f"同一 {CELL_M} 米网格内")
            + f"（{REPEAT_DAYS} 天内 {len(r.ids)} 件）",
            list(r.ids),
            {"place": r.place_key, "type": r.type_code},
        )
        for r in rows
    ]


#: A source of hot cells: ``(conn, town=, since=, until=)`` -> [{"label", "case_ids", ...}].
HotspotSource = Callable[..., list[dict[str, Any]]]


def community_hotspots(
    conn: Connection, *, town: str, since: datetime, until: datetime
) -> list[dict[str, Any]]:
    """Fallback hot cells: communities with >= HOT_FACTOR x the town's median count.

    The median is taken over every community of the town in the active community layer
    (communities without cases count as zero), and a hot community needs at least
    HOT_MIN_CASES cases.
    """
    rows = conn.execute(
        text(f"""SELECT b.code, b.name,
                  COALESCE(array_agg(c.id ORDER BY c.id) FILTER (WHERE c.id IS NOT NULL),
                           '{{}}') AS ids
           FROM {ACTIVE_BOUNDARIES} b
           LEFT JOIN {CASE_ROWS} ON c.community_code = b.code AND c.town_code = :town
             AND c.merged_into IS NULL AND c.created_at >= :since AND c.created_at < :until
           WHERE b.layer = 'community' AND b.parent_code = :town
           GROUP BY b.code, b.name ORDER BY b.code"""),
        {"town": town, "since": since, "until": until},
    ).all()
    if not rows:
        return []
    median = statistics.median(len(r.ids) for r in rows)
    return [
        {
            "label": f"{r.name}（本月 {len(r.ids)} 件，全镇社区中位数 {median:g} 件）",
            "case_ids": list(r.ids),
            "cell": r.code,
            "rule": f"community count >= {HOT_FACTOR:g} x median and >= {HOT_MIN_CASES}",
        }
        for r in rows
        if len(r.ids) >= max(HOT_MIN_CASES, HOT_FACTOR * median)
    ]


def hotspot_source() -> HotspotSource:
    """The planner analysis' hot cells when the ``hotspots`` package is there (its own
    ``town_hot_cells`` if it offers one, else Gi* through :mod:`meetings.hot_cells`), and
    :func:`community_hotspots` otherwise."""
    try:
        module = importlib.import_module("hotspots.service")
    except ImportError:
        return community_hotspots
    own = getattr(module, "town_hot_cells", None)
    if callable(own):
        return own
    if callable(getattr(module, "hotspots", None)):
        from meetings.hot_cells import gi_star_hot_cells

        return gi_star_hot_cells
    return community_hotspots


def hotspots(conn: Connection, w: Window, *, source: HotspotSource | None = None) -> list[Item]:
    """Hot cells of the month, from the planner analysis or the fallback rule."""
    cells = (source or hotspot_source())(conn, town=w.town, since=w.start, until=w.until)
    return [
        Item(
            "hotspot",
            f"热点：{c['label']}",
            sorted(int(i) for i in c["case_ids"]),
            {k: v for k, v in c.items() if k not in ("label", "case_ids")},
        )
        for c in cells
        if c["case_ids"]
    ]


def missed_meeting(conn: Connection, w: Window) -> list[Item]:
    """The month before had no joint meeting of this town (三（一）: 一般每月召开一次)."""
    from meetings.held import meeting_months

    prev = (w.start - timedelta(days=1)).date().replace(day=1)
    months = meeting_months(conn, first=prev, until=w.month, town=w.town).get(w.town)
    if not months or prev not in months["missed"]:
        return []
    return [
        Item(
            "missed_meeting",
            f"{prev:%Y年%m月}未召开物业管理联席会议（三（一）：联席会议一般每月召开一次）",
            [],
            {"month": f"{prev:%Y-%m}"},
        )
    ]


RULES: tuple[Callable[[Connection, Window], list[Item]], ...] = (
    missed_meeting,
    followups,
    overdue,
    joint,
    referred_repeatedly,
    disputes,
    repeat_locations,
)


def build_items(conn: Connection, w: Window, *, hotspot: HotspotSource | None = None) -> list[Item]:
    """Every agenda item of the window, in the order of :data:`RULES`, hotspots last."""
    items = [item for rule in RULES for item in rule(conn, w)]
    return items + hotspots(conn, w, source=hotspot)
