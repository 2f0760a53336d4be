"""The case workflow as a table: which action moves a case from which states to which, and who
may take it. Relations (``dispatcher``, ``handler``, ``task_party``, ``town``, ``community``,
``reporter``) are what the acting principal is *to this case*; see :mod:`incidents.access`.
``system`` is the scheduled job (``shudi cases remind``), e.g. an automatic escalation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from incidents.case_record import CaseRecord
from incidents.models import OPEN_STATUSES, STATUSES

ACTIVE = ("accepted", "dispatched", "in_progress", "referred", "joint", "postponed", "reopened")


@dataclass(frozen=True)
class Transition:
    """One row of the table; ``to`` None keeps the status."""

    action: str
    sources: tuple[str, ...]
    to: str | None
    who: frozenset[str]
    requires: tuple[str, ...] = ()
    public: bool = True
    summary: str = ""


def _t(
    action: str,
    sources: tuple[str, ...],
    to: str | None,
    who: str,
    requires: tuple[str, ...] = (),
    public: bool = True,
    summary: str = "",
) -> Transition:
    return Transition(action, sources, to, frozenset(who.split()), requires, public, summary)


TABLE: tuple[Transition, ...] = (
    _t("accept", ("reported",), "accepted", "dispatcher", summary="受理"),
    _t(
        "reject",
        ("reported", "accepted"),
        "rejected",
        "dispatcher",
        ("note",),
        summary="不予受理（说明理由）",
    ),
    _t(
        "dispatch", ("accepted", "referred", "reopened"), "dispatched", "dispatcher", summary="派单"
    ),
    _t(
        "start",
        ("dispatched", "referred", "reopened"),
        "in_progress",
        "handler dispatcher",
        summary="开始办理",
    ),
    _t(
        "refer",
        ("dispatched", "in_progress", "referred"),
        "referred",
        "handler",
        ("to_party", "note"),
        summary="非本单位职责，转交责任单位",
    ),
    _t(
        "joint",
        ("accepted", "dispatched", "in_progress", "referred", "reopened"),
        "joint",
        "dispatcher town",
        ("parties",),
        summary="多部门联合执法，由镇/街道协调",
    ),
    _t(
        "complete_task",
        ("joint",),
        None,
        "task_party town dispatcher",
        ("task_id",),
        summary="联合执法任务完成",
    ),
    _t(
        "resolve",
        ("in_progress",),
        "resolved",
        "handler dispatcher",
        ("note",),
        summary="办结，待核查",
    ),
    _t("verify", ("resolved",), "closed", "dispatcher community", ("outcome",), summary="核查结案"),
    _t(
        "fail_verification",
        ("resolved",),
        "reopened",
        "dispatcher community",
        ("note",),
        summary="核查未通过，重新办理",
    ),
    _t("reopen", ("closed",), "reopened", "dispatcher", ("note",), summary="重新打开"),
    _t(
        "request_postpone",
        ("dispatched", "in_progress"),
        None,
        "handler",
        ("note", "due_at"),
        public=False,
        summary="申请延期",
    ),
    _t(
        "postpone",
        ("dispatched", "in_progress"),
        "postponed",
        "dispatcher",
        ("note", "due_at"),
        summary="批准缓办/延期，重定期限",
    ),
    _t("resume", ("postponed",), "in_progress", "handler dispatcher", summary="恢复办理"),
    _t(
        "correct_location",
        OPEN_STATUSES,
        None,
        "dispatcher",
        ("lon", "lat"),
        public=False,
        summary="更正位置，重新确定属地和承办单位",
    ),
    _t(
        "correct_type",
        OPEN_STATUSES,
        None,
        "dispatcher",
        ("type",),
        public=False,
        summary="更正类型，重新派定承办单位",
    ),
    _t("merge", OPEN_STATUSES, "closed", "dispatcher", ("into",), summary="合并为重复案件"),
    _t(
        "refused_to_correct",
        ACTIVE + ("reported",),
        None,
        "community handler town",
        ("note",),
        public=False,
        summary="当事人拒不改正，报告镇/街道和执法部门",
    ),
    _t(
        "order_correction",
        ACTIVE + ("reported",),
        None,
        "town",
        ("note", "due_at"),
        public=False,
        summary="镇/街道责令整改，限期改正",
    ),
    _t(
        "escalate",
        ("reported", "accepted", "dispatched", "in_progress", "reopened", "postponed"),
        None,
        "handler dispatcher system",
        ("note",),
        summary="社区在时限内未能化解，提交镇/街道调解",
    ),
    _t(
        "comment",
        OPEN_STATUSES,
        None,
        "dispatcher handler task_party town community",
        ("note",),
        public=False,
        summary="备注",
    ),
    _t(
        "hide",
        STATUSES,
        None,
        "dispatcher",
        ("note",),
        public=False,
        summary="对公众隐藏（恶意、不实或不宜公开的举报，说明理由）",
    ),
    _t("unhide", STATUSES, None, "dispatcher", ("note",), public=False, summary="恢复公开"),
    _t("rate", ("closed",), None, "reporter", ("satisfaction",), summary="群众评价"),
    _t(  # the resident says, in the survey or a 回访 call, that it is not solved
        "followup_reopen",
        ("resolved", "closed"),
        "reopened",
        "followup",
        ("note",),
        summary="回访：群众反映问题未解决，重新办理",
    ),
    _t(
        "dispute",
        ("resolved", "closed"),
        "reopened",
        "reporter",
        ("note",),
        summary="群众对结果有异议，重新办理",
    ),
)

BY_ACTION: dict[str, Transition] = {t.action: t for t in TABLE}


#: Actions that depend on more of the case than its status (the row's effect refuses them
#: otherwise): hiding a hidden case, showing one never hidden.
GUARDS: dict[str, Callable[[CaseRecord], bool]] = {
    "hide": lambda case: not case.hidden,
    "unhide": lambda case: case.hidden,
    # offered only where incidents.duties.escalate would take it: a routing with an
    # escalation step the case has not gone to yet
    "escalate": lambda case: (
        bool((case.routing or {}).get("escalation"))
        and case.routing["escalation"].get("party") != case.handler_party
    ),
}

#: How pages present an action: the usual next step (``primary``), one that ends, discards or
#: undoes work (``destructive``: asked to confirm), or else ``secondary`` — so an action added
#: to the table shows up as a secondary one without more ado.
PRIMARY = frozenset({"accept", "dispatch", "start", "resolve", "verify", "resume", "complete_task"})
DESTRUCTIVE = frozenset({"reject", "merge", "hide", "fail_verification", "reopen", "dispute"})


def weight(action: str) -> str:
    """``primary``, ``secondary`` or ``destructive``."""
    if action in PRIMARY:
        return "primary"
    return "destructive" if action in DESTRUCTIVE else "secondary"


def allowed_actions(
    status: str, relations: frozenset[str] | set[str], case: CaseRecord | None = None
) -> list[str]:
    """The actions these relations may take on a case in ``status`` (and, given the
    ``case``, that its :data:`GUARDS` allow)."""
    return [
        t.action
        for t in TABLE
        if status in t.sources
        and t.who & relations
        and (case is None or GUARDS.get(t.action, _always)(case))
    ]


def _always(case: CaseRecord) -> bool:
    return True
