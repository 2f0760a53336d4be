"""边界图层: the boundary generations of every layer; upload a layer file (its validation
report shown per feature when it has problems — nothing stored then); a new generation's page
draws it over the active one, compares them by code and activates it, saying how many open
cases moved. Forms go to ``/api/v1/boundaries…``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from webmap.pages.admin_shell import (
    LAYER_NAMES,
    agency_options,
    feedback,
    field,
    options,
    page,
    when,
)
from webmap.pages.common import esc, json_script

UPLOAD_LAYERS = ("town", "community", "property_area", "agency_unit")


def _state(g: Mapping[str, Any]) -> str:
    if g["active"]:
        return "启用中"
    return "已停用" if g.get("periods") else "未启用"


def _layer_label(g: Mapping[str, Any], agencies: Mapping[str, str]) -> str:
    label = LAYER_NAMES[g["layer"]]
    return f"{label} · {agencies.get(g['agency'], g['agency'])}" if g["agency"] else label


def render_generations(
    gens: Sequence[Mapping[str, Any]], *, choices: Mapping[str, Any], user: Mapping[str, Any]
) -> str:
    """Every generation, and the upload form."""
    agencies = {a["code"]: a["name_zh"] for a in choices["agencies"]}
    rows = "".join(
        f'<tr data-testid="generation-row" data-generation-id="{int(g["id"])}">'
        f"<td class='num'>{int(g['id'])}</td><td>{esc(_layer_label(g, agencies))}</td>"
        f'<td translate="no">{esc(g["source"])}</td><td class="num">{int(g["feature_count"])}</td>'
        f"<td>{esc(when(g['created_at']))}</td><td>{_state(g)}</td>"
        f'<td><a href="/admin/boundaries/{int(g["id"])}">预览与对比</a></td></tr>'
        for g in gens
    )
    layer = options(((k, LAYER_NAMES[k]) for k in UPLOAD_LAYERS), blank="（请选择）")
    upload = (
        '<section class="card"><h2>上传图层</h2>'
        '<p class="hint">支持 GeoJSON、GeoPackage 和打包为 ZIP 的 SHP 文件'
        '（<span translate="no">Shapefile</span>），任意坐标系。'
        "上传后先按导入规则校验：有错误的图层不会保存；通过校验的图层保存为新版本，"
        "预览和对比后再启用。</p>"
        '<form data-api="/api/v1/boundaries/uploads" enctype="multipart/form-data" '
        'data-then="upload" data-testid="upload"><div class="form-grid">'
        + '<div class="field"><span id="file-label">图层文件</span><span>'
        '<label class="btn file secondary">选择文件<input type="file" name="file" required '
        'aria-labelledby="file-label" accept=".geojson,.json,.gpkg,.zip"></label>'
        '<span data-role="filename" translate="no">未选择文件</span></span></div>'
        + field("图层类型", f'<select name="layer" required>{layer}</select>')
        + field(
            "部门（仅部门辖区图层）", f'<select name="agency">{agency_options(choices)}</select>'
        )
        + field("编码字段", '<input name="code_field">', default="code")
        + field("名称字段", '<input name="name_field">', default="name")
        + field("上级编码字段", '<input name="parent_field">', default="parent_code")
        + field("说明", '<input name="description">')
        + '</div><button class="btn primary" type="submit">上传并校验</button>'
        + feedback()
        + "</form></section>"
    )
    table = (
        '<div class="table-wrap"><table class="list" data-testid="generations"><thead><tr>'
        "<th>版本</th><th>图层</th><th>来源文件</th><th>要素数</th><th>导入时间</th><th>状态</th>"
        f"<th></th></tr></thead><tbody>{rows}</tbody></table></div>"
    )
    return page(user=user, current="boundaries", title="边界图层", body=upload + table)


def _m2(value: float | None) -> str:
    return "—" if value is None else f"{value / 10_000:,.2f} 公顷"


def _delta(value: float) -> str:
    return f"{'+' if value >= 0 else '−'}{abs(value) / 10_000:,.2f} 公顷"


def _renamed(i: Mapping[str, Any]) -> str:
    old, new = i["old_name"], i["new_name"]
    return str(old) if old == new else f"{old} → {new}"


def _compare(c: Mapping[str, Any]) -> str:
    def simple(items: Sequence[Mapping[str, Any]], testid: str, title: str) -> str:
        rows = "".join(
            f'<tr data-code="{esc(i["code"])}"><td translate="no">{esc(i["code"])}</td>'
            f"<td>{esc(i['name'])}</td><td class='num'>{_m2(i['area_m2'])}</td></tr>"
            for i in items
        )
        return f"<h3>{title}（{len(items)}）</h3>" + (
            f'<div class="table-wrap"><table class="list" data-testid="{testid}"><thead><tr>'
            "<th>编码</th><th>名称</th><th>面积</th></tr></thead>"
            f"<tbody>{rows}</tbody></table></div>"
            if items
            else '<p class="hint">无</p>'
        )

    changed = "".join(
        f'<tr data-code="{esc(i["code"])}" data-area-change="{i["area_change_m2"]:.1f}">'
        f'<td translate="no">{esc(i["code"])}</td>'
        f"<td>{esc(_renamed(i))}</td>"
        f"<td class='num'>{_m2(i['old_area_m2'])}</td><td class='num'>{_m2(i['new_area_m2'])}</td>"
        f"<td class='num'>{_delta(i['area_change_m2'])}</td>"
        f"<td>{'边界变化' if i['reshaped'] else ''}"
        f"{' 上级变化' if i['old_parent'] != i['new_parent'] else ''}</td></tr>"
        for i in c["changed"]
    )
    changed_table = (
        f'<div class="table-wrap"><table class="list" data-testid="changed"><thead><tr>'
        "<th>编码</th><th>名称</th><th>原面积</th><th>新面积</th><th>面积变化</th><th>变化</th>"
        f"</tr></thead><tbody>{changed}</tbody></table></div>"
        if c["changed"]
        else '<p class="hint">无</p>'
    )
    return (
        f'<section class="card" data-testid="compare"><h2>与启用中的版本对比</h2>'
        f'<p class="hint">未变化的区域：{int(c["unchanged"])} 个。</p>'
        + simple(c["added"], "added", "新增编码")
        + simple(c["removed"], "removed", "撤销编码")
        + f"<h3>变化的区域（{len(c['changed'])}）</h3>{changed_table}</section>"
    )


def render_generation(
    gen: Mapping[str, Any],
    comparison: Mapping[str, Any],
    *,
    choices: Mapping[str, Any],
    user: Mapping[str, Any],
) -> str:
    """One generation: the preview map (over the active one), the comparison, activation."""
    agencies = {a["code"]: a["name_zh"] for a in choices["agencies"]}
    gid = int(gen["id"])
    active_id = gen["active_generation_id"]
    urls = {
        "new": f"/api/v1/boundaries/generations/{gid}.geojson",
        "old": f"/api/v1/boundaries/generations/{int(active_id)}.geojson"
        if active_id and active_id != gid
        else None,
    }
    if gen["active"]:
        action = '<p data-testid="is-active">该版本正在使用。</p>'
    else:
        action = (
            f'<form data-api="/api/v1/boundaries/generations/{gid}/activate" '
            'data-then="activated" data-testid="activate" '
            'data-confirm="启用后，未结案件将按新边界重新确定属地单位。确定启用？">'
            '<button class="btn primary" type="submit">启用此版本</button>'
            f"{feedback()}</form>"
        )
    body = (
        f'<p><a href="/admin/boundaries">← 返回边界图层</a></p>'
        f"<p>{esc(_layer_label(gen, agencies))} · 版本 {gid} · "
        f'<span translate="no">{esc(gen["source"])}</span> · {int(gen["feature_count"])} 个要素 · '
        f"导入于 {esc(when(gen['created_at']))}</p>"
        f'<section class="card"><h2>预览</h2><p class="legend"><span><i></i>本版本</span>'
        f'<span><i class="old"></i>启用中的版本</span></p>'
        f'<div id="preview-map" role="img" aria-label="本版本与启用中版本的边界地图"></div>'
        f"{json_script('preview-config', urls)}</section>"
        + _compare(comparison)
        + f'<section class="card"><h2>启用</h2>{action}</section>'
    )
    return page(
        user=user,
        current="boundaries",
        title=f"边界图层版本 {gid}",
        body=body,
        scripts=("admin_map",),
        leaflet=True,
    )
