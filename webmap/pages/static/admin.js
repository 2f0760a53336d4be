/* The administrator's pages: every form marked data-api is sent to the JSON API (the same use
   cases as the command line), its error shown in Chinese from the error's stable code, and the
   page reloaded (or the result shown). Data is put into the page with textContent only. */
(function () {
  "use strict";

  var ERRORS = {
    invalid_account: {
      too_short: "密码太短：至少需要 {min} 个字符（管理员至少 12 个）。",
      common: "该密码过于常见，容易被猜中，请换一个。",
      few_characters: "密码中不同的字符太少，请换一个。",
      has_username: "密码不能包含用户名。",
      exists: "该用户名已存在。",
      unknown_role: "请选择角色。",
      scope_missing: "该角色必须选择所属部门、镇/街道、社区或物业企业。",
      unknown_agency: "所选部门不存在。",
      unknown_area: "所选区域或单位不在当前启用的边界中。",
      "": "账号信息有误，请检查后重试。"
    },
    forbidden: { self: "不能对当前登录的管理员自己执行此操作。", "": "当前账号无权执行此操作。" },
    not_found: { "": "找不到该对象，可能已被删除，请刷新页面。" },
    not_authenticated: { "": "登录已过期，请重新登录。" },
    invalid_contact: {
      bad_scope: "请选择区域。",
      "": "联系人信息不完整：请选择部门，并填写联系人和电话。"
    },
    contact_not_found: { "": "该联系人已不存在，请刷新页面。" },
    unknown_agency: { "": "所选部门不存在。" },
    invalid_ban: { "": "封禁信息无效：请填写要封禁的手机号或 IP 地址及原因。" },
    ban_not_found: { "": "该封禁已不存在，请刷新页面。" },
    invalid_request: { "": "填写的内容格式不正确（用户名为 3 至 64 位字母、数字或 _ . @ -）。" },
    unknown_layer: { "": "请选择图层类型（部门辖区图层还需选择部门）。" },
    boundary_import_rejected: { "": "图层有错误，未保存。请按下列问题修改后重新上传。" },
    unreadable_boundary_file: {
      format: "文件格式不支持：请上传 GeoJSON、GeoPackage 或打包为 ZIP 的 SHP 文件。",
      empty: "文件是空的。",
      "": "无法读取该文件：请检查文件格式、编码字段和名称字段是否填写正确、坐标系是否声明。"
    },
    too_many_features: { "": "文件中的要素过多。" },
    generation_not_found: { "": "找不到该图层版本，请刷新页面。" },
    no_active_generation: { "": "上级图层尚未启用：请先导入并启用镇/街道或社区图层。" },
    payload_too_large: { "": "文件太大。" }
  };

  var PROBLEMS = {
    missing_code: "有要素缺少编码",
    duplicate_code: "编码 {0} 重复出现",
    empty_geometry: "{0} 没有图形",
    not_polygon: "{0} 不是面状图形",
    invalid_geometry: "{0} 的图形无效（如边界自相交）",
    out_of_range: "{0} 的坐标超出经纬度范围（坐标系可能有误）",
    missing_parent_code: "{0} 缺少上级编码",
    unknown_parent: "{0} 的上级编码 {1} 在上级图层中不存在",
    outside_parent: "{0} 超出其上级区域 {1}",
    overlap: "{0} 与 {1} 相互重叠",
    gap: "{0} 内有未被下级区域覆盖的空隙"
  };

  function fill(template, vars) {
    return template.replace(/\{(\w+)\}/g, function (_m, k) {
      return vars[k] === undefined ? "" : String(vars[k]);
    });
  }

  function errorText(body) {
    var byReason = ERRORS[body && body.code] || {};
    var text = byReason[(body && body.reason) || ""] || byReason[""] || "操作失败，请稍后重试。";
    return fill(text, body || {});
  }

  function problemText(p) {
    var codes = (p.codes || []).map(function (c) { return "“" + c + "”"; });
    var text = fill(PROBLEMS[p.kind] || "要素有问题", codes.concat([]));
    var area = /([0-9.]+) m²/.exec(p.message || "");
    return area ? text + "（约 " + area[1] + " 平方米）" : text;
  }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function problemTable(problems, testid) {
    var table = el("table", { class: "list", "data-testid": testid });
    var head = el("tr");
    ["严重程度", "涉及编码", "问题"].forEach(function (h) { head.appendChild(el("th", {}, h)); });
    table.appendChild(el("thead")).appendChild(head);
    var body = table.appendChild(el("tbody"));
    problems.forEach(function (p) {
      var tr = el("tr", { "data-kind": p.kind });
      tr.appendChild(el("td", {}, p.severity === "error" ? "错误" : "提示"));
      tr.appendChild(el("td", { translate: "no" }, (p.codes || []).join("、") || "—"));
      tr.appendChild(el("td", {}, problemText(p)));
      body.appendChild(tr);
    });
    return table;
  }

  function payload(form) {
    var out = {};
    new FormData(form).forEach(function (value, key) {
      if (typeof value !== "string") return;
      if (form.querySelector('[name="' + key + '"][data-number]')) {
        out[key] = value === "" ? null : Number(value);
      } else {
        out[key] = value === "" && form.querySelector('[name="' + key + '"][data-null]') ? null : value;
      }
    });
    return out;
  }

  function url(template, form) {
    return template.replace(/\{(\w+)\}/g, function (_m, k) {
      var input = form.querySelector('[name="' + k + '"]');
      return encodeURIComponent(input ? input.value : form.dataset[k] || "");
    });
  }

  function done(form, body) {
    var then = form.dataset.then || "reload";
    var out = form.querySelector("[data-role=result]");
    if (then === "password" && body && body.password) {
      out.hidden = false;
      out.textContent = "";
      out.appendChild(el("span", {}, "已设置新密码（仅显示这一次，请转交本人）："));
      out.appendChild(el("code", { translate: "no", "data-testid": "new-password" }, body.password));
      return;
    }
    if (then === "upload") {
      var go = "/admin/boundaries/" + body.generation_id;
      if (!body.warnings || !body.warnings.length) { window.location.assign(go); return; }
      out.hidden = false;
      out.textContent = "";
      out.appendChild(el("p", {}, "图层已通过校验并保存（尚未启用），另有以下提示："));
      out.appendChild(problemTable(body.warnings, "upload-warnings"));
      out.appendChild(el("a", { class: "btn primary", href: go }, "预览与对比"));
      return;
    }
    if (then === "activated") {
      out.hidden = false;
      out.textContent = "";
      var p = el("p", { "data-testid": "moved", "data-moved": String(body.moved) });
      p.textContent = body.changed
        ? "已启用。未结案件 " + body.open_cases + " 件中，有 " + body.moved +
          " 件按新边界改由新的属地单位办理。"
        : "该版本本已启用，未作改动。";
      out.appendChild(p);
      form.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
      return;
    }
    window.location.reload();
  }

  function submit(event) {
    var form = event.target;
    if (!form.matches || !form.matches("form[data-api]")) return;
    event.preventDefault();
    if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) return;
    var err = form.querySelector("[data-role=error]");
    var out = form.querySelector("[data-role=result]");
    if (err) { err.hidden = true; err.textContent = ""; }
    if (out) { out.hidden = true; out.textContent = ""; }
    var method = form.dataset.method || "POST";
    var init = { method: method, credentials: "same-origin", headers: { Accept: "application/json" } };
    if (form.enctype === "multipart/form-data") {
      init.body = new FormData(form);
    } else if (method !== "DELETE") {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(payload(form));
    }
    var buttons = form.querySelectorAll("button");
    buttons.forEach(function (b) { b.disabled = true; });
    fetch(url(form.dataset.api, form), init)
      .then(function (r) {
        return r.text().then(function (t) {
          var body = null;
          try { body = t ? JSON.parse(t) : null; } catch (e) { body = null; }
          return { ok: r.ok, body: body };
        });
      })
      .then(function (res) {
        buttons.forEach(function (b) { b.disabled = false; });
        if (res.ok) { done(form, res.body); return; }
        if (!err) return;
        err.hidden = false;
        err.appendChild(el("p", { class: "error-title" }, errorText(res.body)));
        var problems = (res.body && res.body.problems) || [];
        if (problems.length) err.appendChild(problemTable(problems, "upload-problems"));
      })
      .catch(function () {
        buttons.forEach(function (b) { b.disabled = false; });
        if (err) { err.hidden = false; err.textContent = "网络错误，请稍后重试。"; }
      });
  }

  document.addEventListener("submit", submit);

  /* Role-dependent scope fields: only those the chosen role uses are shown and sent. */
  function showScope(form) {
    var select = form.querySelector("select[name=role]");
    if (!select) return;
    form.querySelectorAll("[data-for-roles]").forEach(function (box) {
      var on = box.dataset.forRoles.split(" ").indexOf(select.value) >= 0;
      box.hidden = !on;
      box.querySelectorAll("select,input").forEach(function (i) { i.disabled = !on; });
    });
    var agency = form.querySelector("select[name=agency]");
    if (agency) {
      form.querySelectorAll("select[name=agency_unit] option[data-agency]").forEach(function (o) {
        o.hidden = o.dataset.agency !== agency.value;
      });
    }
  }
  function scopeForms() {
    document.querySelectorAll("form[data-scope]").forEach(function (form) {
      showScope(form);
      form.addEventListener("change", function () { showScope(form); });
    });
  }
  /* The area picker of the contacts page: choosing an area opens its list. */
  function areaPicker() {
    var picker = document.getElementById("area-picker");
    if (!picker) return;
    picker.addEventListener("change", function () {
      if (picker.value) window.location.assign("/admin/contacts?area=" + encodeURIComponent(picker.value));
    });
  }
  /* The chosen file's name beside the (Chinese) file button. */
  function fileNames() {
    document.querySelectorAll("input[type=file]").forEach(function (input) {
      var shown = input.form && input.form.querySelector("[data-role=filename]");
      if (!shown) return;
      input.addEventListener("change", function () {
        shown.textContent = input.files.length ? input.files[0].name : "未选择文件";
      });
    });
  }
  function start() {
    fileNames();
    scopeForms();
    areaPicker();
    document.documentElement.dataset.adminReady = "1";  /* the forms are live */
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
