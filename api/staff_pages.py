"""What every staff page answer shares: the HTML response (localized, never cached), the user
shown in the menu, and the refusal page (403/404) that keeps the menu so the user can go on."""

from __future__ import annotations

from typing import Any

from fastapi.responses import HTMLResponse

from accounts.service import Principal
from webmap.assets import localize
from webmap.pages import common, nav


def html_page(html: str, status_code: int = 200) -> HTMLResponse:
    return HTMLResponse(
        localize(html), status_code=status_code, headers={"Cache-Control": "no-cache"}
    )


def user_of(p: Principal) -> dict[str, Any]:
    """The user as the menu shows it."""
    return {"username": p.username, "role": p.role.value, "town_code": p.town_code}


def refusal(p: Principal, *, title: str, hint: str, lang: str, status_code: int) -> HTMLResponse:
    """A page saying why it cannot be shown, with the menu and a way back to the role's home."""
    body = (
        f"{nav.nav_bar(user_of(p), None, lang)}<main class='workbench' id='main'>"
        f"<section class='card error' role='alert' data-testid='error'>"
        f"<p class='error-title'>{common.esc(title)}</p><p class='hint'>{common.esc(hint)}</p>"
        f"</section><p><a class='btn primary' href='{nav.home_of(p.role.value)}'>"
        f"{'回到首页' if lang == 'zh' else 'Home'}</a></p></main>"
    )
    return html_page(common.plain_page(lang=lang, title=title, body=body), status_code)
