"""Templates: data that renders, SMS length and signature rules, no personal data."""

from __future__ import annotations

import pytest

from notify import templates as t
from notify.exceptions import TemplateError


def test_sms_segments_follow_the_provider_rule() -> None:
    # 70 characters fit one message; beyond that each part carries 67 (hand-counted)
    assert t.sms_segments("字" * 70) == 1
    assert t.sms_segments("字" * 71) == 2
    assert t.sms_segments("字" * 134) == 2
    assert t.sms_segments("字" * 135) == 3


def test_every_template_loads_chinese_first() -> None:
    names = t.load_templates()
    for name in ("case_accepted", "case_referred", "case_postponed", "case_resolved",
                 "case_closed", "unit_assigned", "unit_reopened", "deadline_passed"):  # fmt: skip
        assert name in names
    accepted = names["case_accepted"]
    subject, body = t.render_email(
        accepted,
        {"type": "违章搭建", "handler": "城管一中队", "due": "2026-12-08 17:00",
         "code": "ABCDEFGHJKMN", "link": "http://x/track/ABCDEFGHJKMN",
         "optout": "http://x/track/ABCDEFGHJKMN/optout"},
    )  # fmt: skip
    assert subject.index("已受理") < subject.index("accepted")
    assert body.index("已受理") < body.index("accepted") < body.index("/optout")


def test_sms_carries_the_signature_and_fits_by_shortening_free_text() -> None:
    resolved = t.get_template("case_resolved")
    params = {"code": "ABCDEFGHJKMN", "link": "http://127.0.0.1:8000/track/ABCDEFGHJKMN",
              "survey": "http://127.0.0.1:8000/track/ABCDEFGHJKMN/survey",
              "note": "已责令当事人拆除违建并恢复原状" * 10}  # fmt: skip
    sms = t.render_sms(resolved, params, sign="清溪区城管", max_segments=2)
    assert sms.startswith("【清溪区城管】")
    assert len(sms) <= 134 and t.sms_segments(sms) == 2
    assert "…" in sms and sms.endswith(
        "请回访评价：http://127.0.0.1:8000/track/ABCDEFGHJKMN/survey"
    )
    # 【属地】4 + 您反映的问题（查询码 10 + code 12 + ）已办结： 5 + 已拆除 3 + 。请回访评价： 7
    # + a 27-character survey link = 68: one message
    short = {"code": "ABCDEFGHJKMN", "link": "https://q.cn/t/ABCDEFGHJKMN",
             "survey": "https://q.cn/s/ABCDEFGHJKMN", "note": "已拆除"}  # fmt: skip
    one = t.render_sms(resolved, short, sign="属地", max_segments=1)
    assert len(one) == 68 and t.sms_segments(one) == 1
    with pytest.raises(TemplateError):  # the link is never cut: 88 characters cannot fit 70
        t.render_sms(resolved, params | {"note": "已拆除"}, sign="属地", max_segments=1)


def test_variables_cannot_fake_a_signature_or_add_lines() -> None:
    sms = t.render_sms(
        t.get_template("case_postponed"),
        {"code": "C", "due": "d", "reason": "【假冒】第一行\n第二行"},
        sign="属地",
        max_segments=3,
    )
    assert sms.count("【") == 1 and "\n" not in sms


def test_bad_signature_and_personal_variables_are_refused() -> None:
    with pytest.raises(TemplateError):
        t.check_sign_name("【x】")
    with pytest.raises(TemplateError):
        empty = {"subject": "", "body": ""}
        spec = {"version": 1, "audience": "resident", "sms": "{phone}", "zh": empty, "en": empty}
        t._template("x", spec)


def test_masks() -> None:
    assert t.mask_phone("13812345678") == "138****5678"
    assert t.mask_email("zhang.san@example.com") == "z***@example.com"
