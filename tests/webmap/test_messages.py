"""Every error a resident's page can receive has words in both languages, Chinese without
English in it (the page shows these, never the API's developer message)."""

from __future__ import annotations

import re
from typing import get_args

from abuse import exceptions as abx
from incidents import exceptions as ix
from incidents.photos import RejectionCode
from jurisdictions import catalog
from jurisdictions import exceptions as jx
from shudi.database import DatabaseBusy, DatabaseUnavailable, QueryTimeout
from webmap.pages.messages import ERRORS, error_texts

#: What /report, /track and /directory can get back from the API they call.
PAGE_ERRORS = [
    jx.OutsideServiceArea.code,
    jx.InvalidCoordinates.code,
    catalog.UnknownViolationType.code,
    abx.RateLimited.code,
    abx.Banned.code,
    ix.InvalidReport.code,
    ix.IdempotencyKeyReused.code,
    ix.IdempotencyKeyInFlight.code,
    ix.InvalidTransition.code,
    ix.CaseNotFound.code,
    DatabaseUnavailable.code,
    DatabaseBusy.code,
    QueryTimeout.code,
    "invalid_request",
    "payload_too_large",
    "network",
    "unknown",
    "phone",  # InvalidReport's field
    "description",
    *get_args(RejectionCode),  # InvalidReport's photo_error
]


def test_every_page_error_has_words_in_both_languages() -> None:
    missing = [code for code in PAGE_ERRORS if code not in ERRORS]
    assert missing == []
    for code, (zh, en) in ERRORS.items():
        assert zh.strip() and en.strip(), code
        latin = set(re.findall(r"[A-Za-z]{2,}", re.sub(r"\{\w+\}", "", zh))) - {"JPG", "PNG"}
        assert not latin, (code, latin)
        assert re.search(r"[\u4e00-\u9fff]", zh) and not re.search(r"[\u4e00-\u9fff]", en), code


def test_rate_limit_words_say_when_and_what_else() -> None:
    zh = error_texts("zh")
    assert "{wait}" in zh["rate_limited"] and "110" in zh["rate_limited"]
    assert "12345" in zh["outside_service_area"]
