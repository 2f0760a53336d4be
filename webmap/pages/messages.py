"""What a resident's page says for each error the API can answer it with (by the error's stable
``code``, or the ``field`` / ``photo_error`` it names): what happened and what to do next, in the
page's language. The API's own ``message`` (English, for developers) never reaches a resident."""

from __future__ import annotations

from webmap.pages.common import pick

# What a page shows for each error ``code`` the API can answer it with: what happened and what to
# do next. The API's own ``message`` (English, for developers) never reaches a resident.
ERRORS: dict[str, tuple[str, str]] = {
    "outside_service_area": (
        "所选位置不在本区服务范围内。请在地图上本区范围内重新选点；区外的问题请拨打12345市民热线。",
        "This place is outside the district. Choose a place inside it on the map; for elsewhere "
        "call the 12345 citizens' hotline.",
    ),
    "invalid_coordinates": (
        "位置无效，请在地图上重新选点。",
        "The position is not valid: choose the place on the map again.",
    ),
    "unknown_violation_type": (
        "该问题类型已不可用，请重新选择问题类型。",
        "That kind of problem is no longer available: choose the kind again.",
    ),
    "rate_limited": (
        "提交太频繁，请{wait}后再试；紧急情况请直接拨打110、119或12345。",
        "Too many reports just now: try again {wait}; in an emergency call 110, 119 or 12345.",
    ),
    "banned": (
        "暂时无法从此设备或号码提交，请拨打12345市民热线反映问题。",
        "Reports from this device or number are not accepted now: call the 12345 hotline.",
    ),
    "phone": (
        "电话号码请填写5至20位数字（可含空格、横线，或以+开头），或留空。",
        "Enter the phone as 5 to 20 digits (spaces, dashes or a leading + are fine), or leave "
        "it empty.",
    ),
    "description": (
        "描述太长，请精简到4000字以内。",
        "The description is too long: keep it under 4,000 characters.",
    ),
    "photo_too_large": (
        "照片太大，请换一张较小的照片（或截图后再选）。",
        "A photo is too large: choose a smaller one.",
    ),
    "too_many_photos": ("照片最多6张，请去掉几张再提交。", "At most 6 photos: remove some."),
    "not_an_image": ("所选文件不是图片，请重新选择照片。", "A chosen file is not a picture."),
    "unsupported_image_type": (
        "不支持该图片格式，请选择JPG或PNG照片（苹果手机可在相机设置中选“兼容性最佳”）。",
        "That picture format is not supported: choose a JPG or PNG photo.",
    ),
    "image_too_many_pixels": (
        "照片分辨率太高，请换一张或截图后再选。",
        "A photo has too many pixels: choose another.",
    ),
    "photos_too_many_pixels": (
        "照片合计分辨率太高，请少选几张或换用较小的照片。",
        "The photos have too many pixels together: choose fewer or smaller ones.",
    ),
    "photos_too_slow": (
        "照片处理超时，请少选几张或换用较小的照片后重试。",
        "The photos took too long to process: choose fewer or smaller ones and try again.",
    ),
    "followup_not_open": (
        "案件办结后才能填写回访问卷。",
        "The survey opens once the case is resolved.",
    ),
    "invalid_report": (
        "提交的内容有误，请检查后重试。",
        "Something in the report is not right: check it and try again.",
    ),
    "invalid_request": (
        "提交的内容有误，请检查后重试。",
        "Something in the request is not right: check it and try again.",
    ),
    "idempotency_key_reused": (
        "此前已用相同凭据提交过不同内容，请再点一次提交。",
        "A different report was sent with this form before: press submit again.",
    ),
    "idempotency_key_in_flight": (
        "上一次提交还在处理中，请稍候片刻。",
        "Your previous submission is still being processed: wait a moment.",
    ),
    "not_your_place": (
        "该位置不在您负责的社区或物业管理区域内，只能报告本辖区的违法违规行为。请在地图上重新选点。",
        "This place is outside your community or estate: you may report only violations in "
        "your own. Choose the place on the map again.",
    ),
    "forbidden": (
        "当前账号无权进行此操作。",
        "This account may not do this.",
    ),
    "invalid_transition": (
        "案件状态已变化，无法进行此操作。请刷新页面查看最新进度。",
        "The case has changed and this is no longer possible: reload the page.",
    ),
    "evidence_required": (
        "此类问题办结前须上传处置前、处置后照片，请先在“照片”一栏上传。",
        "This kind of problem needs photos from before and after handling: add them under "
        "Photos first.",
    ),
    "missing_field": (
        "还有必填内容没有填写，请补全后再提交。",
        "Something required is missing: complete it and send again.",
    ),
    "case_not_found": (
        "未找到该查询码对应的案件，请核对后重试。",
        "No case has this tracking code: check it and try again.",
    ),
    "payload_too_large": (
        "上传内容太大，请减少照片数量或换较小的照片。",
        "The upload is too large: fewer or smaller photos.",
    ),
    "database_unavailable": (
        "系统暂时繁忙，请稍后再试。",
        "The service is busy: try again shortly.",
    ),
    "database_busy": ("系统暂时繁忙，请稍后再试。", "The service is busy: try again shortly."),
    "query_timeout": ("系统暂时繁忙，请稍后再试。", "The service is busy: try again shortly."),
    "network": (
        "网络连接失败，请检查网络后重试；内容不会丢失。",
        "No connection: check your network and try again; nothing is lost.",
    ),
    "unknown": (
        "出了点问题，请稍后重试；如一直不成功，请拨打12345市民热线。",
        "Something went wrong: try again later, or call the 12345 hotline.",
    ),
    "wait_s": ("{n}秒", "in {n} seconds"),
    "wait_later": ("稍后", "later"),
}


def error_texts(lang: str) -> dict[str, str]:
    """:data:`ERRORS` in one language, for a page's script configuration."""
    return pick(ERRORS, lang)
