"""HTTP routes of 回访 and satisfaction: the resident's survey (page and API, by tracking code
alone), the dispatcher's return-visit record, a case's follow-ups, and the reviewed exclusion of
an unreasonable rating. Thin: :mod:`incidents.followup` and :mod:`incidents.followup_review`
decide."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field, StrictBool

from accounts.router import CurrentPrincipal
from incidents import followup, followup_review, service
from incidents.exceptions import CaseNotFound
from shudi.database import RequestConn as Conn
from shudi.responses import json_answer
from webmap.pages import survey as survey_page
from webmap.pages.common import lang_of

router = APIRouter(tags=["follow-up"])


class SurveyIn(BaseModel):
    """Solved? (required) · satisfied 1–5 · a comment (needed when not solved)."""

    model_config = ConfigDict(extra="forbid")
    resolved: StrictBool
    satisfaction: int | None = Field(default=None, ge=1, le=5)
    comment: str = Field(default="", max_length=2000)


class VisitIn(BaseModel):
    """The 回访 call: reached? and, when reached, what the resident said."""

    model_config = ConfigDict(extra="forbid")
    reached: StrictBool
    resolved: StrictBool | None = None
    satisfaction: int | None = Field(default=None, ge=1, le=5)
    comment: str = Field(default="", max_length=2000)


class ExclusionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=2000)


class ReviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    approve: StrictBool
    note: str = Field(default="", max_length=2000)


@router.get("/track/{tracking_code}/survey", response_class=HTMLResponse, include_in_schema=False)
def survey_html(conn: Conn, tracking_code: str, lang: str | None = None) -> HTMLResponse:
    """The resident's survey page (Chinese; ``?lang=en`` English)."""
    language = lang_of(lang)
    try:
        state = followup.survey_state(conn, tracking_code=tracking_code)
    except CaseNotFound:
        state = {"code": tracking_code.upper()[:32], "open": False, "answer": None}
        return HTMLResponse(survey_page.render_survey(state, lang=language), status_code=404)
    return HTMLResponse(
        survey_page.render_survey(state, lang=language), headers={"Cache-Control": "no-store"}
    )


@router.get("/api/v1/track/{tracking_code}/survey")
def survey_get(conn: Conn, tracking_code: str) -> Response:
    """Whether the survey is open, and the answer once given."""
    return json_answer(followup.survey_state(conn, tracking_code=tracking_code))


@router.post(
    "/api/v1/track/{tracking_code}/survey",
    status_code=201,
    responses={200: {"description": "Answered before: the stored answer, `repeated: true`"}},
)
def survey_post(conn: Conn, tracking_code: str, body: SurveyIn) -> Response:
    """Answer the survey (once per reporter: a repeat returns the stored answer, 200);
    "not solved" reopens the case with the comment as the reason. 201 when stored."""
    got = followup.answer_survey(
        conn,
        tracking_code=tracking_code,
        resolved=body.resolved,
        satisfaction=body.satisfaction,
        comment=body.comment,
    )
    return json_answer(got, status_code=200 if got["repeated"] else 201)


@router.post("/api/v1/tasks/{task_id}/visit")
def visit_post(conn: Conn, principal: CurrentPrincipal, task_id: int, body: VisitIn) -> Response:
    """A dispatcher records a 回访 call of the work list."""
    return json_answer(
        followup.record_visit(
            conn,
            principal=principal,
            task_id=task_id,
            reached=body.reached,
            resolved=body.resolved,
            satisfaction=body.satisfaction,
            comment=body.comment,
        )
    )


@router.get("/api/v1/cases/{case_id}/followups")
def followups_get(conn: Conn, principal: CurrentPrincipal, case_id: int) -> Response:
    """A case's survey answers, return visits and rating exclusion (staff who see the case)."""
    service.get_case(conn, case_id=case_id, principal=principal)  # 404 unless visible
    return json_answer(
        {
            "followups": followup.case_followups(conn, case_id=case_id),
            "exclusion": followup_review.exclusion_of(conn, case_id=case_id),
        }
    )


@router.post("/api/v1/cases/{case_id}/rating-exclusion", status_code=201)
def exclusion_post(
    conn: Conn, principal: CurrentPrincipal, case_id: int, body: ExclusionIn
) -> Response:
    """A dispatcher proposes leaving this case's answers out of the rates (an unreasonable
    demand), with the reason; it counts once a town coordinator or an admin approves."""
    return json_answer(
        followup_review.propose(conn, principal=principal, case_id=case_id, reason=body.reason),
        status_code=201,
    )


@router.get("/api/v1/rating-exclusions")
def exclusions_get(conn: Conn, principal: CurrentPrincipal, state: str = "pending") -> Response:
    """The exclusions the caller may review (a coordinator: its town's), by state."""
    return json_answer(followup_review.listing(conn, principal=principal, state=state))


@router.post("/api/v1/rating-exclusions/{exclusion_id}/review")
def exclusion_review(
    conn: Conn, principal: CurrentPrincipal, exclusion_id: int, body: ReviewIn
) -> Response:
    """Approve or reject a proposed exclusion (not by its proposer)."""
    return json_answer(
        followup_review.review(
            conn, principal=principal, exclusion_id=exclusion_id, approve=body.approve,
            note=body.note,
        )
    )  # fmt: skip
