/* /report: pin → place → type → handler and duplicates → details → one submission. */
(function () {
  "use strict";
  var S = window.Shudi, cfg = S.cfg, t = S.t, el = S.el;
  var $ = function (id) { return document.getElementById(id); };
  var state = { pt: null, res: null, outside: false, type: null, done: false, seq: 0 };
  var busy = false;
  var KEY = "shudi.report.idempotency-key";

  /* --- one Idempotency-Key per form, kept across reloads of the tab ------------------------ */
  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = crypto.getRandomValues(new Uint8Array(16)); // plain-http LAN pages lack randomUUID
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 0x100).toString(16).slice(1); });
    return [h.slice(0, 4), h.slice(4, 6), h.slice(6, 8), h.slice(8, 10), h.slice(10)]
      .map(function (p) { return p.join(""); }).join("-");
  }
  var memoryKey = null;
  function formKey(renew) {
    try {
      var k = renew ? null : sessionStorage.getItem(KEY);
      if (!k) { k = uuid(); sessionStorage.setItem(KEY, k); }
      return k;
    } catch (e) { // storage disabled: keep it for this page's life
      if (!memoryKey || renew) memoryKey = uuid();
      return memoryKey;
    }
  }
  function forgetKey() {
    try { sessionStorage.removeItem(KEY); } catch (e) { memoryKey = null; }
  }
  formKey(false);

  /* --- where ------------------------------------------------------------------------------ */
  function setPoint(pt) {
    if (state.done) return;
    var seq = ++state.seq;
    state.pt = pt;
    state.res = null;
    state.outside = false;
    state.utilities = null;
    showError("");
    S.setPin(pt, false);
    if (S.expandSheet()) S.reveal(S.onMap(pt));
    var box = S.clear($("place"));
    box.appendChild(el("p", { class: "coords", text: S.pointLabel(pt) }));
    box.appendChild(el("p", { class: "hint", text: t("loading") }));
    S.getJSON("/api/v1/resolve", { lon: pt.lon, lat: pt.lat, crs: pt.crs }).then(function (r) {
      if (seq !== state.seq) return; // a later tap won
      S.clear(box);
      if (r.ok) {
        state.res = r.data;
        box.appendChild(S.placeNode(r.data, pt));
      } else {
        box.appendChild(el("p", { class: "coords", text: S.pointLabel(pt) }));
        box.appendChild(S.errorNode(r.data));
        state.outside = !!(r.data && r.data.code === "outside_service_area");
        S.setPin(pt, true);
      }
      updateRoute();
      renderUrgent();
    });
  }
  S.onTap(setPoint);
  S.keyboardPin(setPoint);

  $("locate").addEventListener("click", function () {
    var box = S.clear($("place"));
    if (!navigator.geolocation) {
      box.appendChild(el("p", { class: "error", text: t("geo_unavailable") }));
      return;
    }
    box.appendChild(el("p", { class: "hint", text: t("locating") }));
    navigator.geolocation.getCurrentPosition(
      function (pos) {
        // Phones' geolocation is WGS-84, whatever the basemap is drawn in.
        var pt = { lon: pos.coords.longitude, lat: pos.coords.latitude, crs: "wgs84" };
        if (S.map) S.reveal(S.onMap(pt), Math.max(S.map.getZoom(), 17));
        setPoint(pt);
      },
      function () {
        S.clear(box).appendChild(el("p", { class: "error", text: t("geo_unavailable") }));
      },
      { enableHighAccuracy: true, timeout: 15000, maximumAge: 30000 }
    );
  });

  /* --- what: category tiles, or words searched by the server's ranking (an ARIA combobox) -- */
  var types = cfg.types || [];
  var byCode = {};
  types.forEach(function (ty) { byCode[ty.code] = ty; });
  var en = cfg.lang === "en";
  function plain(ty) { return (en ? ty.plain_en : ty.plain_zh) || ty.name_zh; }
  function callLink(c, number) {
    return el("a", { class: "btn call", href: "tel:" + number, "data-number": number }, [
      el("span", { class: "call-name", text: en ? c.name_en : c.name_zh }),
      el("strong", { class: "call-number", text: " " + number }),
    ]);
  }
  function optionNode(ty, tag, extra) {
    var node = el(tag, Object.assign({ class: "type-option", "data-code": ty.code }, extra || {}), [
      el("span", { class: "plain", text: plain(ty) }),
    ]);
    if (ty.urgent && ty.urgent.length) node.classList.add("is-urgent");
    node.addEventListener("click", function () { chooseType(ty); });
    return node;
  }

  var tiles = $("tiles"), panel = $("tile-panel");
  function openTile(code) {
    var cat = (cfg.categories || []).filter(function (c) { return c.code === code; })[0];
    if (!cat) return;
    $("tile-title").textContent = en ? cat.name_en : cat.name_zh;
    var calls = S.clear($("tile-calls"));
    (cat.calls || []).forEach(function (c) { calls.appendChild(callLink(c, c.number)); });
    var list = S.clear($("tile-types"));
    cat.types.forEach(function (code) {
      var ty = byCode[code];
      if (ty) list.appendChild(el("li", {}, [optionNode(ty, "button", { type: "button" })]));
    });
    S.show(tiles, false);
    S.show(panel, true);
    var first = list.querySelector("button");
    if (first) first.focus();
  }
  Array.prototype.forEach.call(tiles.querySelectorAll(".tile"), function (b) {
    b.addEventListener("click", function () { openTile(b.getAttribute("data-category")); });
  });
  $("tile-back").addEventListener("click", function () {
    S.show(panel, false);
    S.show(tiles, true);
    var b = tiles.querySelector(".tile");
    if (b) b.focus();
  });

  var input = $("type-q"), listbox = $("type-list");
  var shown = [], active = -1, searchSeq = 0, timer = null;
  function setActive(i) {
    var opts = listbox.querySelectorAll('[role="option"]');
    active = Math.max(-1, Math.min(i, opts.length - 1));
    Array.prototype.forEach.call(opts, function (o, n) {
      o.setAttribute("aria-selected", n === active ? "true" : "false");
      o.classList.toggle("active", n === active);
    });
    if (active >= 0) {
      input.setAttribute("aria-activedescendant", opts[active].id);
      opts[active].scrollIntoView({ block: "nearest" });
    } else {
      input.removeAttribute("aria-activedescendant");
    }
  }
  function renderOptions(found) {
    shown = found;
    S.clear(listbox);
    found.forEach(function (ty, n) {
      listbox.appendChild(optionNode(ty, "li", { role: "option", id: "type-opt-" + n,
        "aria-selected": "false" }));
    });
    if (!found.length && input.value.trim()) {
      listbox.appendChild(el("li", { class: "hint", role: "presentation", text: t("type_none") }));
    }
    input.setAttribute("aria-expanded", found.length ? "true" : "false");
    setActive(-1);
  }
  function localMatches(q) { // offline fallback: the plain and formal names
    return types.filter(function (ty) {
      return plain(ty).indexOf(q) >= 0 || ty.name_zh.indexOf(q) >= 0 ||
        ty.name_en.toLowerCase().indexOf(q.toLowerCase()) >= 0;
    });
  }
  function search() {
    var q = input.value.trim(), mine = ++searchSeq;
    if (!q) return renderOptions([]);
    var who = cfg.channel ? "staff" : "resident"; // staff filing from the field see every type
    S.getJSON("/api/v1/violation-types", { q: q, reportable: "true", audience: who }).then(function (r) {
      if (mine !== searchSeq) return;
      if (!r.ok) return renderOptions(localMatches(q));
      renderOptions(r.data.map(function (x) { return byCode[x.code]; }).filter(Boolean).slice(0, 12));
    });
  }
  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(search, 120);
  });
  input.addEventListener("keydown", function (ev) {
    if (ev.key === "ArrowDown") { ev.preventDefault(); setActive(active + 1); }
    else if (ev.key === "ArrowUp") { ev.preventDefault(); setActive(active - 1); }
    else if (ev.key === "Escape") { renderOptions([]); }
    else if (ev.key === "Enter") {
      ev.preventDefault(); // never submits the form from here
      var pick = shown[active >= 0 ? active : 0];
      if (pick) chooseType(pick);
    }
  });

  function chooseType(ty) {
    state.type = ty;
    $("type-name").textContent = plain(ty);
    $("type-legal-text").textContent = t("legal_name") + (en ? ty.name_en : ty.name_zh) +
      (ty.clause ? "（" + (en ? ty.clause_en : ty.clause) + "）" : "");
    S.show($("type-picked"), true);
    S.show($("type-choose"), false);
    input.setAttribute("aria-expanded", "false");
    renderUrgent();
    updateRoute();
    $("type-change").focus();
  }
  $("type-change").addEventListener("click", function () {
    state.type = null;
    S.show($("type-picked"), false);
    S.show($("type-choose"), true);
    renderUrgent();
    updateRoute();
    input.focus();
  });

  /* --- emergencies: the numbers to call before the form (the resident may still file) ---- */
  function utilityNumber(kind) {
    var u = (state.utilities || []).filter(function (x) { return x.kind === kind && x.phone; })[0];
    return u ? { number: u.phone.replace(/[^0-9+]/g, ""), label: u.phone, name: u.name } : null;
  }
  function renderUrgent() {
    var box = S.clear($("urgent"));
    var ty = state.type;
    if (!ty || !ty.urgent || !ty.urgent.length) return S.show(box, false);
    box.appendChild(el("p", { class: "urgent-title", text: t("urgent_title") }));
    ty.urgent.forEach(function (c) {
      if (c.utility) {
        var u = utilityNumber(c.utility);
        if (u) {
          var a = callLink(c, u.number);
          a.appendChild(el("span", { class: "call-who", text: u.name || "" }));
          box.appendChild(a);
          return;
        }
        if (state.pt && state.res && state.utilities === null) loadUtilities();
      }
      box.appendChild(callLink(c, c.number));
    });
    box.appendChild(el("p", { class: "hint", text: t("urgent_then") }));
    S.show(box, true);
  }
  function loadUtilities() {
    var seq = state.seq, pt = state.pt;
    state.utilities = [];
    S.getJSON("/api/v1/directory", { lon: pt.lon, lat: pt.lat, crs: pt.crs }).then(function (r) {
      if (seq !== state.seq || !r.ok) return;
      state.utilities = r.data.utilities || [];
      renderUrgent();
    });
  }

  /* --- who handles it, and was it reported already ---------------------------------------- */
  function updateRoute() {
    var route = S.clear($("route")), dups = S.clear($("dups"));
    if (!state.pt || !state.res || !state.type) return;
    var seq = state.seq, code = state.type.code;
    var q = { lon: state.pt.lon, lat: state.pt.lat, crs: state.pt.crs, type: code };
    route.appendChild(el("p", { class: "hint", text: t("loading") }));
    S.getJSON("/api/v1/route", q).then(function (r) {
      if (seq !== state.seq || !state.type || state.type.code !== code) return;
      S.clear(route);
      if (!r.ok) { route.appendChild(S.errorNode(r.data)); return; }
      var h = r.data.handler || {};
      var who = h.name + (h.unit && h.unit.name ? "（" + h.unit.name + "）" : "");
      route.appendChild(el("p", { class: "handler" }, [
        el("strong", { text: t("handler") + "：" }), el("span", { class: "handler-name", text: who }),
      ]));
      var reason = (r.data.reasons || [])[0];
      if (reason) {
        route.appendChild(el("details", { class: "legal" }, [
          el("summary", { text: t("why") }),
          el("p", { class: "hint", text: reason[cfg.lang] || reason.zh }),
        ]));
      }
    });
    S.getJSON("/api/v1/reports/duplicates", q).then(function (r) {
      if (seq !== state.seq || !state.type || state.type.code !== code) return;
      S.clear(dups);
      if (!r.ok || !r.data.length) return;
      dups.appendChild(el("p", { class: "warn", text: t("dups", { n: r.data.length }) }));
      dups.appendChild(el("p", { class: "hint", text: t("dups_hint") }));
    });
  }

  /* --- photos ----------------------------------------------------------------------------- */
  function photoFiles() {
    var out = [];
    ["photo-camera", "photos"].forEach(function (id) {
      Array.prototype.forEach.call($(id).files || [], function (f) { out.push(f); });
    });
    return out;
  }
  ["photo-camera", "photos"].forEach(function (id) {
    $(id).addEventListener("change", function () {
      var n = photoFiles().length;
      $("photos-n").textContent = n ? t("photos_n", { n: n }) : "";
    });
  });

  /* --- the phone, checked when the resident leaves the field (the server's rule) ---------- */
  function phoneProblem() {
    var v = $("phone").value.replace(/[ -]/g, ""); // as the server: spaces and dashes dropped
    if (!v) return "";
    return /^\+*[0-9]+$/.test(v) && v.length >= 5 && v.length <= 20 ? "" : cfg.errors.phone;
  }
  function checkPhone() {
    var msg = phoneProblem(), box = $("phone-error");
    box.textContent = msg;
    S.show(box, !!msg);
    $("phone").setAttribute("aria-invalid", msg ? "true" : "false");
    return !msg;
  }
  $("phone").addEventListener("blur", checkPhone);
  $("phone").addEventListener("input", function () { if (!$("phone-error").hidden) checkPhone(); });

  /* --- staff: found, dissuaded, refused to correct (三（二）) ------------------------------- */
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function localNow() { // the value a datetime-local input takes, in the device's time
    var d = new Date();
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + "T" +
      pad(d.getHours()) + ":" + pad(d.getMinutes());
  }
  function refusing() { return !!(cfg.refusal && $("refusal") && $("refusal").checked); }
  if (cfg.refusal && $("refusal")) {
    $("refusal").addEventListener("change", function () {
      var on = refusing();
      S.show($("refusal-fields"), on);
      S.show($("contact"), !on); // the staff member files: no resident's contact to take
      if (on) {
        $("dissuaded_at").value = $("dissuaded_at").value || localNow();
        $("dissuaded_at").setAttribute("max", localNow());
        $("said").focus();
      }
    });
  }
  function refusalProblem() {
    if (state.type.scope !== "enforcement") return t("refusal_scope");
    if (!$("said").value.trim()) { $("said").focus(); return t("need_said"); }
    var at = $("dissuaded_at").value;
    if (at && new Date(at).getTime() > Date.now() + 60000) return t("said_future");
    return "";
  }
  function refusalData() {
    var fd = new FormData();
    fd.append("lon", String(state.pt.lon));
    fd.append("lat", String(state.pt.lat));
    fd.append("crs", state.pt.crs);
    fd.append("type", state.type.code);
    fd.append("said", $("said").value.trim());
    var at = $("dissuaded_at").value; // local time → an instant with its zone (ISO, UTC)
    if (at) fd.append("dissuaded_at", new Date(at).toISOString());
    fd.append("party", $("party").value.trim());
    fd.append("description", $("description").value.trim());
    photoFiles().forEach(function (f) { fd.append("photos", f, f.name); });
    return fd;
  }
  function sendRefusal() {
    S.fetchJSON("/api/v1/staff/refusals", { method: "POST", body: refusalData() }).then(function (r) {
      if (r.status === 201) return done(r.data);
      showError(S.errorText(r.data));
      setBusy(false);
    });
  }

  /* --- submit once ------------------------------------------------------------------------ */
  function showError(text) {
    var box = $("error");
    box.textContent = text;
    S.show(box, !!text);
  }
  function setBusy(on) {
    busy = on;
    $("submit").disabled = on;
    $("submit").textContent = on ? t("submitting") : t("submit");
  }
  function formData() {
    var fd = new FormData();
    fd.append("lon", String(state.pt.lon));
    fd.append("lat", String(state.pt.lat));
    fd.append("crs", state.pt.crs);
    fd.append("type", state.type.code);
    if (cfg.channel) fd.append("channel", cfg.channel); // a logged-in staff member's channel
    ["description", "phone", "email", "contact_name"].forEach(function (id) {
      fd.append(id, $(id).value.trim());
    });
    photoFiles().forEach(function (f) { fd.append("photos", f, f.name); });
    return fd;
  }
  function send(key, attempt) {
    var init = { method: "POST", body: formData(), headers: { "Idempotency-Key": key } };
    S.fetchJSON("/api/v1/reports", init).then(function (r) {
      if (r.status === 201) return done(r.data);
      var code = r.data && r.data.code;
      if (r.status === 409 && code === "idempotency_key_in_flight" && attempt < 20) {
        setTimeout(function () { send(key, attempt + 1); }, 1000); // the first try is running
        return;
      }
      if (code === "idempotency_key_reused") {
        formKey(true); // this form's earlier report went in with other content
        showError(t("key_reused"));
      } else {
        showError(S.errorText(r.data)); // network errors keep the key: a retry is safe
        if (r.data && r.data.field === "phone") checkPhone();
      }
      setBusy(false);
    });
  }
  $("report-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    if (busy || state.done) return;
    showError("");
    if (cfg.staffBlocked) return showError(t("staff_none"));
    if (state.pt && state.outside) return showError(t("need_inside"));
    if (!state.pt || !state.res) return showError(t("need_place"));
    if (!state.type) return showError(t("need_type"));
    if (photoFiles().length > 6) return showError(t("too_many_photos"));
    if (refusing()) {
      var problem = refusalProblem();
      if (problem) return showError(problem);
      setBusy(true);
      return sendRefusal();
    }
    if (!checkPhone()) { $("phone").focus(); return showError(cfg.errors.phone); }
    setBusy(true);
    send(formKey(false), 0);
  });

  function fmtTime(iso) {
    if (!iso) return "";
    try {
      return new Date(iso).toLocaleString(cfg.lang === "en" ? "en-GB" : "zh-CN", {
        timeZone: "Asia/Shanghai", year: "numeric", month: "2-digit", day: "2-digit",
        hour: "2-digit", minute: "2-digit",
      });
    } catch (e) { return iso; }
  }
  function done(body) {
    state.done = true;
    forgetKey();
    busy = false;
    S.show($("report-form"), false);
    $("code").textContent = body.tracking_code;
    var link = cfg.trackBase + encodeURIComponent(body.tracking_code);
    if (cfg.casePage) { // staff follow the case on its page
      link = cfg.casePage + encodeURIComponent(body.id);
      $("track-link").textContent = t("open_case");
    }
    $("track-link").setAttribute("href", cfg.lang === "en" ? link + "?lang=en" : link);
    var h = (body.routing && body.routing.handler) || {};
    var lines = [];
    if (h.name) lines.push(t("handler") + "：" + h.name + (h.unit ? "（" + h.unit.name + "）" : ""));
    else if (typeof body.handler === "string") lines.push(t("handler") + "：" + body.handler);
    if (body.dissuasion) lines.push(t("refusal_done"));
    if (body.due_at) lines.push(t("due") + "：" + fmtTime(body.due_at));
    $("done-handler").textContent = lines.join("　");
    S.show($("done"), true);
    S.expandSheet();
  }
  $("again").addEventListener("click", function () { window.location.reload(); });
  $("copy-code").addEventListener("click", function () {
    S.copyText($("code").textContent, $("copy-code"), t("copied"));
  });
})();
