"""The assessment's SQL, in small named pieces (common table expressions) that
:mod:`assessment.service` puts together. Every piece reads only the cases and their events
(through :mod:`incidents.queries`' cohort pieces), ``case_task``, ``app_user``, ``agency``,
``meeting_action`` and the follow-ups (``case_followup``, ``followup_exclusion``);
parameters ``:start`` and ``:end`` bound the period (``[start, end)``) and ``:as_of`` (the
earlier of ``end`` and now) is the moment the state of each case is taken at. Definitions:
docs/assessment.md.
"""

from __future__ import annotations

from assessment import satisfaction
from incidents.queries import COHORT_EVENTS, RECEIVED_COHORT

#: Cases received in the period and their events (see :mod:`incidents.queries`).
COHORT = RECEIVED_COHORT
EVENTS = COHORT_EVENTS

#: One row per case: when each stage was reached and what happened, as of ``as_of``. A state
#: is *entered* by an event whose ``to_status`` differs from its ``from_status`` (comments and
#: other in-place actions keep the status).
TIMELINE = """timeline AS (
  SELECT case_id,
    min(at) FILTER (WHERE action = 'accept') AS accepted_at,
    min(at) FILTER (WHERE action IN ('start', 'refer', 'joint')) AS responded_at,
    max(at) FILTER (WHERE to_status = 'resolved'
                      AND from_status IS DISTINCT FROM 'resolved') AS last_resolved_at,
    max(at) FILTER (WHERE action = 'verify') AS verified_at,
    (array_agg(to_status ORDER BY at DESC, id DESC))[1] AS status,
    bool_or(to_status = 'resolved' AND from_status IS DISTINCT FROM 'resolved') AS ever_resolved,
    bool_or(to_status = 'reopened' AND from_status IS DISTINCT FROM 'reopened') AS reworked,
    count(*) FILTER (WHERE action = 'refer') AS referrals,
    bool_or(action = 'joint') AS joint,
    (array_agg(data->>'satisfaction' ORDER BY at DESC, id DESC)
       FILTER (WHERE action = 'rate'))[1] AS rating
  FROM ev GROUP BY case_id)"""

#: The cohort with its timeline; ``resolved_at`` only when resolved (or closed) as of ``as_of``.
FACTS = """facts AS (
  SELECT k.*, t.accepted_at, t.responded_at, t.referrals,
    COALESCE(t.status, 'reported') AS status,
    COALESCE(t.ever_resolved, false) AS ever_resolved,
    COALESCE(t.reworked, false) AS reworked,
    COALESCE(t.joint, false) AS joint, t.rating,
    CASE WHEN t.status IN ('resolved', 'closed') THEN t.last_resolved_at END AS resolved_at,
    CASE WHEN t.status = 'closed' THEN t.verified_at END AS closed_at
  FROM cohort k LEFT JOIN timeline t ON t.case_id = k.case_id)"""

#: The facts are made once per request into a temporary table (``{table}``) that every figure
#: then reads.
MAKE_FACTS = (COHORT, EVENTS.format(cases="cohort"), TIMELINE, FACTS)
READ_FACTS = "facts AS (SELECT * FROM {table})"

#: Whom a case counts for: its handler's agency, the handler's field unit (agencies with field
#: units), and the town/street it is in.
MEMBERS = """members AS (
  SELECT 'agency' AS kind, f.handler_party AS agency, f.handler_party AS unit, f.case_id
  FROM facts f
  UNION ALL
  SELECT 'agency_unit', f.handler_party, f.handler_unit_code, f.case_id
  FROM facts f JOIN agency a ON a.code = f.handler_party AND a.has_field_units
  WHERE f.handler_unit_code IS NOT NULL
  UNION ALL
  SELECT 'town', '', f.town_code, f.case_id FROM facts f WHERE f.town_code IS NOT NULL)"""

#: The unit that acts for ``{party}`` at a case's place (as incidents.effects._party_unit).
UNIT_OF = """CASE {party} WHEN 'town_government' THEN k.town_code
  WHEN 'community_committee' THEN k.community_code
  WHEN 'property_company' THEN k.property_area_code
  ELSE k.agency_units->>({party}) END"""

#: The party a staff user acts for.
USER_PARTY = """CASE u.role WHEN 'agency_officer' THEN u.agency
  WHEN 'town_coordinator' THEN 'town_government'
  WHEN 'community_worker' THEN 'community_committee'
  WHEN 'property_company' THEN 'property_company' END"""

#: Every referral of a cohort case up to ``as_of``: who referred (the acting user's party; else
#: the previous referral's target; else the handler routed at intake), to whom, and whether
#: the case was referred again afterwards (then this referral did not find the responsible
#: party: *wrong*; otherwise *correct*).
REFERRALS = (
    """refs AS (
  SELECT r.*, """
    + UNIT_OF.format(party="r.from_party")
    + """ AS from_unit
  FROM (
    SELECT e.case_id, e.id AS event_id, e.at, e.data->>'to_party' AS to_party,
      COALESCE("""
    + USER_PARTY
    + """, lag(e.data->>'to_party') OVER w, k.routed_party) AS from_party,
      u.agency_unit AS actor_unit,
      lead(e.id) OVER w IS NOT NULL AS referred_again
    FROM ev e LEFT JOIN app_user u ON u.id = e.actor_id
    JOIN facts k ON k.case_id = e.case_id
    WHERE e.action = 'refer'
    WINDOW w AS (PARTITION BY e.case_id ORDER BY e.at, e.id)) r
  JOIN facts k ON k.case_id = r.case_id)"""
)

#: Whom a referral counts against: the referring agency, its unit, the case's town.
REFERRAL_MEMBERS = """ref_members AS (
  SELECT 'agency' AS kind, r.from_party AS agency, r.from_party AS unit, r.case_id, r.event_id,
         r.referred_again FROM refs r WHERE r.from_party IS NOT NULL
  UNION ALL
  SELECT 'agency_unit', r.from_party, COALESCE(r.actor_unit, r.from_unit), r.case_id,
         r.event_id, r.referred_again
  FROM refs r JOIN agency a ON a.code = r.from_party AND a.has_field_units
  WHERE COALESCE(r.actor_unit, r.from_unit) IS NOT NULL
  UNION ALL
  SELECT 'town', '', k.town_code, r.case_id, r.event_id, r.referred_again
  FROM refs r JOIN facts k ON k.case_id = r.case_id WHERE k.town_code IS NOT NULL)"""

#: Joint-enforcement tasks of cohort cases that went joint by ``as_of``, for the parties that
#: joined a case they do not handle (a town joins through a ``town_government`` task).
TASK_MEMBERS = """task_members AS (
  SELECT DISTINCT x.kind, x.agency, x.unit, x.case_id FROM (
    SELECT 'agency' AS kind, t.party AS agency, t.party AS unit, t.case_id
    FROM case_task t JOIN facts f ON f.case_id = t.case_id AND f.joint AND t.kind = 'joint'
    UNION ALL
    SELECT 'agency_unit', t.party, t.unit_code, t.case_id
    FROM case_task t JOIN facts f ON f.case_id = t.case_id AND f.joint AND t.kind = 'joint'
    JOIN agency a ON a.code = t.party AND a.has_field_units WHERE t.unit_code IS NOT NULL
    UNION ALL
    SELECT 'town', '', t.unit_code, t.case_id
    FROM case_task t JOIN facts f ON f.case_id = t.case_id AND f.joint AND t.kind = 'joint'
    WHERE t.party = 'town_government' AND t.unit_code IS NOT NULL) x
  WHERE NOT EXISTS (SELECT 1 FROM members m WHERE m.case_id = x.case_id
                    AND m.kind = x.kind AND m.agency = x.agency AND m.unit = x.unit))"""

#: Meeting actions whose due date fell in the period and has passed by ``as_of``.
ACTIONS = """actions AS (
  SELECT a.id, a.owner_kind AS kind,
    CASE a.owner_kind WHEN 'agency' THEN a.owner_code WHEN 'agency_unit' THEN a.owner_agency
         ELSE '' END AS agency,
    a.owner_code AS unit, a.due_on,
    a.done_on IS NOT NULL AND a.done_on <= a.due_on
      AND a.done_on < CAST(:as_of_date AS date) AS on_time
  FROM meeting_action a
  WHERE a.due_on >= CAST(:start_date AS date) AND a.due_on < CAST(:as_of_date AS date))"""

#: Per-case predicates over ``f`` (facts): the figures counted, and listed by the audit.
CASE_FIGURES: dict[str, str] = {
    "received": "TRUE",
    "rejected": "f.status = 'rejected'",
    "response_due": """f.status <> 'rejected' AND f.respond_due_at IS NOT NULL
        AND (f.responded_at IS NOT NULL OR f.respond_due_at < :as_of)""",
    "responded_on_time": "f.responded_at <= f.respond_due_at",
    "resolution_due": """f.status <> 'rejected' AND f.due_at IS NOT NULL
        AND (f.resolved_at IS NOT NULL OR f.due_at < :as_of)""",
    "resolved": "f.resolved_at IS NOT NULL",
    "resolved_on_time": "f.resolved_at <= f.due_at",
    "resolved_late": "f.resolved_at > f.due_at",
    "overdue": "f.status NOT IN ('resolved', 'closed', 'rejected') AND f.due_at < :as_of",
    "open": "f.status NOT IN ('resolved', 'closed', 'rejected')",
    "ever_resolved": "f.ever_resolved",
    "reworked": "f.reworked",
    "rated": "f.rating IS NOT NULL",
    "satisfied": "f.rating = 'satisfied'",
    "referred_in": "f.referrals > 0",
    "joint_led": "f.joint",
    **satisfaction.FIGURES,  # 回访: what residents say, apart from the workflow
}

#: Per-referral predicates over ``r`` (ref_members).
REFERRAL_FIGURES: dict[str, str] = {
    "referred_out": "TRUE",
    "referred_correct": "NOT r.referred_again",
    "referred_wrong": "r.referred_again",
}

#: Stage durations of a case in hours (NULL when the stage is not reached).
STAGES: dict[str, str] = {
    "accept": "f.accepted_at - f.created_at",
    "respond": "f.responded_at - f.created_at",
    "handle": "f.resolved_at - COALESCE(f.responded_at, f.created_at)",
    "verify": "f.closed_at - f.resolved_at",
    "total": "f.closed_at - f.created_at",
}


def hours(interval: str) -> str:
    """An interval expression in hours."""
    return f"EXTRACT(EPOCH FROM ({interval})) / 3600.0"


#: Upper bounds (hours) of the stage-time histogram's bins; the last bin is open.
HOUR_BINS = (4, 8, 24, 72, 168, 360)


def with_(*pieces: str) -> str:
    """``WITH`` the pieces, in order."""
    return "WITH " + ",\n".join(pieces) + "\n"


def case_base(table: str) -> tuple[str, str]:
    """The facts (from their table) and whom each case counts for."""
    return (READ_FACTS.format(table=table), MEMBERS)


def referral_base(table: str) -> tuple[str, ...]:
    """The facts, their events, the referrals and whom each counts against."""
    return (
        READ_FACTS.format(table=table),
        EVENTS.format(cases="facts"),
        REFERRALS,
        REFERRAL_MEMBERS,
    )
