/* /report: pin → place → type → handler and duplicates → details → one submission. */
(function () {
  "use strict";
  var S = window.Shudi, cfg = S.cfg, t = S.t, el = S.el;
  var $ = function (id) { return document.getElementById(id); };
  var state = { pt: null, res: null, type: null, done: false, seq: 0 };
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
        S.setPin(pt, true);
      }
      updateRoute();
    });
  }
  S.onTap(setPoint);

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

  /* --- what ------------------------------------------------------------------------------- */
  var types = cfg.types || [];
  function matches(ty, q) {
    if (!q) return true;
    if (ty.name_zh.indexOf(q) >= 0 || ty.name_en.toLowerCase().indexOf(q) >= 0) return true;
    return ty.keywords.some(function (k) {
      k = k.toLowerCase();
      return k.indexOf(q) >= 0 || q.indexOf(k) >= 0;
    });
  }
  function typeLabel(ty) {
    return cfg.lang === "en" ? ty.name_en || ty.name_zh : ty.name_zh;
  }
  function renderTypes() {
    var q = $("type-q").value.trim().toLowerCase();
    var list = S.clear($("type-list"));
    var shown = types.filter(function (ty) { return matches(ty, q); });
    shown.forEach(function (ty) {
      var b = el("button", { type: "button", class: "type-option",
        "data-code": ty.code, text: typeLabel(ty) });
      if (cfg.lang === "en") b.appendChild(el("span", { class: "alt", text: ty.name_zh }));
      b.addEventListener("click", function () { chooseType(ty); });
      list.appendChild(el("li", {}, [b]));
    });
    if (!shown.length) list.appendChild(el("li", { class: "hint", text: t("type_none") }));
  }
  function chooseType(ty) {
    state.type = ty;
    $("type-name").textContent = typeLabel(ty);
    S.show($("type-picked"), !!ty);
    S.show($("type-search-box"), !ty);
    updateRoute();
  }
  $("type-q").addEventListener("input", renderTypes);
  $("type-change").addEventListener("click", function () {
    state.type = null;
    S.show($("type-picked"), false);
    S.show($("type-search-box"), true);
    updateRoute();
    $("type-q").focus();
  });
  renderTypes();

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
      if (reason) route.appendChild(el("p", { class: "hint", text: reason[cfg.lang] || reason.zh }));
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
      }
      setBusy(false);
    });
  }
  $("report-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    if (busy || state.done) return;
    showError("");
    if (!state.pt || !state.res) return showError(t("need_place"));
    if (!state.type) return showError(t("need_type"));
    if (photoFiles().length > 6) return showError(t("too_many_photos"));
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
    $("track-link").setAttribute("href", cfg.lang === "en" ? link + "?lang=en" : link);
    var h = (body.routing && body.routing.handler) || {};
    var lines = [];
    if (h.name) lines.push(t("handler") + "：" + h.name + (h.unit ? "（" + h.unit.name + "）" : ""));
    if (body.due_at) lines.push(t("due") + "：" + fmtTime(body.due_at));
    $("done-handler").textContent = lines.join("　");
    S.show($("done"), true);
    S.expandSheet();
  }
  $("again").addEventListener("click", function () { window.location.reload(); });
})();
