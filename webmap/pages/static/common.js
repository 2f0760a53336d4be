/* Shared by the public map pages: configuration, the map, API calls, safe DOM building.
   Data from the API is only ever put into the page with textContent (never innerHTML). */
(function () {
  "use strict";
  var cfgNode = document.getElementById("shudi-config");
  var cfg = cfgNode ? JSON.parse(cfgNode.textContent) : {};
  var S = (window.Shudi = { cfg: cfg });

  S.t = function (key, vars) {
    var s = (cfg.t && cfg.t[key]) || key;
    Object.keys(vars || {}).forEach(function (k) {
      s = s.split("{" + k + "}").join(String(vars[k]));
    });
    return s;
  };

  /* el("p", {class: "x", text: "y", href: "..."}, [children]) */
  S.el = function (tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      var v = attrs[k];
      if (v === null || v === undefined || v === false) return;
      if (k === "text") node.textContent = String(v);
      else if (k === "class") node.className = v;
      else node.setAttribute(k, v === true ? "" : String(v));
    });
    (children || []).forEach(function (c) {
      if (c) node.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    });
    return node;
  };
  S.clear = function (node) {
    while (node.firstChild) node.removeChild(node.firstChild);
    return node;
  };
  S.show = function (node, on) {
    node.hidden = !on;
  };

  /* GET an API path; resolves to {ok, status, data}; never rejects. */
  S.getJSON = function (path, params) {
    var qs = new URLSearchParams(params || {}).toString();
    return S.fetchJSON(path + (qs ? "?" + qs : ""), {});
  };
  S.fetchJSON = function (url, init) {
    init.headers = Object.assign({ Accept: "application/json" }, init.headers || {});
    return fetch(url, init).then(
      function (r) {
        return r
          .json()
          .catch(function () {
            return { code: "bad_response", message: "HTTP " + r.status };
          })
          .then(function (data) {
            return { ok: r.ok, status: r.status, data: data };
          });
      },
      function () {
        return { ok: false, status: 0, data: { code: "network", message: S.t("network_error") } };
      }
    );
  };

  /* An API error {code, message, ...} as the page's words (cfg.errors: what happened and what
     to do next, in the page's language). The API's own message is for developers: it is shown
     only by pages without an error table (staff pages). */
  var E = cfg.errors || null;
  S.errorText = function (data) {
    data = data || {};
    if (!E) {
      if (data.code === "outside_service_area") return S.t("outside");
      return data.message || data.code || S.t("network_error");
    }
    var s;
    if (data.code === "outside_service_area") {
      s = E.outside_service_area;
      var n = data.nearest;
      if (n && n.name) {
        s += " " + S.t("nearest") + n.name;
        if (typeof n.distance_m === "number") {
          s += "（" + (n.distance_m / 1000).toFixed(1) + " " + S.t("km") + "）";
        }
      }
      return s;
    }
    if (data.code === "rate_limited") {
      var wait = typeof data.retry_after_s === "number"
        ? E.wait_s.split("{n}").join(String(Math.ceil(data.retry_after_s))) : E.wait_later;
      return E.rate_limited.split("{wait}").join(wait);
    }
    if (data.photo_error && E[data.photo_error]) return E[data.photo_error];
    if (data.field && E[data.field]) return E[data.field];
    return E[data.code] || E.unknown;
  };
  S.errorNode = function (data) {
    return S.el("div", { class: "error", role: "alert" }, [
      S.el("p", { class: "error-title", text: S.errorText(data) }),
    ]);
  };

  /* A modal question before something that cannot be taken back: resolves true on "yes";
     "no" is focused, Escape answers no. o: {title, text, yes, no, danger}. */
  S.confirm = function (o) {
    return new Promise(function (resolve) {
      var yes = S.el("button", { type: "button", class: o.danger ? "btn danger" : "btn primary",
        "data-testid": "confirm-yes", text: o.yes });
      var no = S.el("button", { type: "button", class: "btn secondary", "data-testid": "confirm-no",
        text: o.no });
      var dlg = S.el("dialog", { class: "confirm", "data-testid": "confirm", "aria-labelledby": "confirm-title" }, [
        S.el("h2", { id: "confirm-title", text: o.title }),
        S.el("p", { text: o.text }),
        S.el("p", { class: "row" }, [no, yes]),
      ]);
      document.body.appendChild(dlg);
      function done(answer) { dlg.close(); dlg.remove(); resolve(answer); }
      yes.addEventListener("click", function () { done(true); });
      no.addEventListener("click", function () { done(false); });
      dlg.addEventListener("cancel", function (ev) { ev.preventDefault(); done(false); });
      dlg.showModal();
      no.focus();
    });
  };

  /* --- coordinates ------------------------------------------------------------------------ */
  var LABELS = { wgs84: "WGS-84", gcj02: "GCJ-02", bd09: "BD-09", cgcs2000: "CGCS2000" };
  S.pointLabel = function (pt) {
    return (LABELS[pt.crs] || pt.crs) + " " + pt.lon.toFixed(6) + ", " + pt.lat.toFixed(6);
  };

  /* WGS-84 → GCJ-02 (the published forward formula, as gis/coords.py). */
  var A = 6378245.0, EE = 0.00669342162296594323, PI = Math.PI;
  S.wgs84ToGcj02 = function (lon, lat) {
    if (!(lon >= 72.004 && lon <= 137.8347 && lat >= 0.8293 && lat <= 55.8271)) return [lon, lat];
    var x = lon - 105.0, y = lat - 35.0;
    var common = 0.1 * x * y + ((20 * Math.sin(6 * x * PI) + 20 * Math.sin(2 * x * PI)) * 2) / 3;
    var dlat = -100 + 2 * x + 3 * y + 0.2 * y * y + 0.2 * Math.sqrt(Math.abs(x)) + common;
    dlat += ((20 * Math.sin(y * PI) + 40 * Math.sin((y / 3) * PI)) * 2) / 3;
    dlat += ((160 * Math.sin((y / 12) * PI) + 320 * Math.sin((y * PI) / 30)) * 2) / 3;
    var dlon = 300 + x + 2 * y + 0.1 * x * x + 0.1 * Math.sqrt(Math.abs(x)) + common;
    dlon += ((20 * Math.sin(x * PI) + 40 * Math.sin((x / 3) * PI)) * 2) / 3;
    dlon += ((150 * Math.sin((x / 12) * PI) + 300 * Math.sin((x / 30) * PI)) * 2) / 3;
    var rad = (lat / 180) * PI;
    var magic = 1 - EE * Math.sin(rad) * Math.sin(rad);
    var sq = Math.sqrt(magic);
    dlat = (dlat * 180) / (((A * (1 - EE)) / (magic * sq)) * PI);
    dlon = (dlon * 180) / ((A / sq) * Math.cos(rad) * PI);
    return [lon + dlon, lat + dlat];
  };

  /* Where a point {lon, lat, crs} is drawn on this map, as a Leaflet [lat, lng]. */
  S.onMap = function (pt) {
    if (pt.crs === "wgs84" && cfg.crs === "gcj02") {
      var g = S.wgs84ToGcj02(pt.lon, pt.lat);
      return [g[1], g[0]];
    }
    return [pt.lat, pt.lon];
  };

  /* --- the map and the pin ---------------------------------------------------------------- */
  S.map = cfg.map ? window[cfg.map] : null;
  window.shudiMap = S.map;
  var pin = null;
  S.setPin = function (pt, outside) {
    if (!S.map) return;
    var ll = S.onMap(pt);
    if (!pin) pin = L.marker(ll, { keyboard: false, alt: S.t("pin") }).addTo(S.map);
    else pin.setLatLng(ll);
    var icon = pin.getElement && pin.getElement();
    if (icon) icon.classList.toggle("pin-outside", !!outside);
  };
  /* Pan so that a Leaflet [lat, lng] shows beside the sheet (above it on phones), at zoom. */
  S.reveal = function (ll, zoom) {
    if (!S.map) return;
    var m = S.map;
    m.setView(ll, zoom || m.getZoom(), { animate: false });
    var size = m.getSize(), want;
    var r = sheet && !sheet.classList.contains("collapsed") ? sheet.getBoundingClientRect() : null;
    if (!r) want = L.point(size.x / 2, size.y / 2);
    else if (r.left <= 1) want = L.point(size.x / 2, Math.max(r.top, 40) / 2);
    else want = L.point((r.right + size.x) / 2, size.y / 2);
    m.panBy(m.latLngToContainerPoint(ll).subtract(want), { animate: false });
  };
  /* A tap on the map → the point in the map's coordinate system. */
  S.onTap = function (handler) {
    if (!S.map) return;
    S.map.on("click", function (e) {
      var ll = e.latlng.wrap();
      handler({ lon: ll.lng, lat: ll.lat, crs: cfg.crs });
    });
  };

  /* The place a resolve answer describes, as a list of labelled lines. */
  S.placeNode = function (res, pt) {
    var dl = S.el("dl", { class: "place-list" });
    function row(label, value, cls) {
      dl.appendChild(S.el("dt", { text: label }));
      dl.appendChild(S.el("dd", { text: value, class: cls || null }));
    }
    if (pt) row(S.t("coords"), S.pointLabel(pt), "coords");
    if (res.town) row(S.t("town"), res.town.name);
    if (res.community) row(S.t("community"), res.community.name);
    var pa = res.property_area;
    if (pa) {
      row(S.t("estate"), pa.name);
      row(S.t("company"), pa.property_company || S.t("no_company"), "company");
    } else {
      row(S.t("estate"), S.t("no_estate"));
    }
    return dl;
  };

  /* The sheet's handle: collapse it to see more of the map. */
  var toggle = document.getElementById("sheet-toggle");
  var sheet = document.getElementById("sheet");
  if (toggle && sheet) {
    toggle.addEventListener("click", function () {
      var open = sheet.classList.toggle("collapsed") === false;
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
      toggle.lastChild.textContent = open ? S.t("close") : S.t("open");
    });
  }
  /* Show the whole district beside the sheet. */
  if (S.map && cfg.fit) {
    var r = sheet ? sheet.getBoundingClientRect() : null;
    var side = r && r.left > 1 ? [r.right, 0] : [0, 0];
    var below = r && r.left <= 1 ? [0, window.innerHeight - r.top] : [0, 0];
    S.map.fitBounds(cfg.fit, { paddingTopLeft: side, paddingBottomRight: below, animate: false });
  }

  /* Leaflet's own controls speak English ("Zoom in", "Layers"): in Chinese on a Chinese page,
     once every page script has added its controls. */
  var CONTROL_WORDS = {
    ".leaflet-control-zoom-in": "放大",
    ".leaflet-control-zoom-out": "缩小",
    ".leaflet-control-layers-toggle": "图层",
    ".leaflet-control-fullscreen-button": "全屏",
  };
  S.localizeControls = function () {
    if (cfg.lang === "en") return;
    Object.keys(CONTROL_WORDS).forEach(function (sel) {
      document.querySelectorAll(sel).forEach(function (node) {
        node.setAttribute("title", CONTROL_WORDS[sel]);
        node.setAttribute("aria-label", CONTROL_WORDS[sel]);
      });
    });
  };
  S.localizeControls();
  document.addEventListener("DOMContentLoaded", S.localizeControls);

  /* Open the sheet (true when it was collapsed: the caller may need to reveal the pin). */
  S.expandSheet = function () {
    if (!sheet || !sheet.classList.contains("collapsed")) return false;
    toggle.click();
    return true;
  };

  /* Where the crosshair is: the middle of the map's visible part (above the sheet on phones). */
  S.visibleCenter = function () {
    var size = S.map.getSize();
    var r = sheet && !sheet.classList.contains("collapsed") ? sheet.getBoundingClientRect() : null;
    if (!r) return L.point(size.x / 2, size.y / 2);
    if (r.left <= 1) return L.point(size.x / 2, Math.max(r.top, 40) / 2);
    return L.point((r.right + size.x) / 2, size.y / 2);
  };
  /* Keyboard: Tab to the map, arrow keys pan it (Leaflet), Enter drops the pin at the cross. */
  S.keyboardPin = function (handler) {
    if (!S.map) return;
    var box = S.map.getContainer();
    box.setAttribute("tabindex", "0");
    box.setAttribute("role", "application");
    if (cfg.t && cfg.t.map_label) box.setAttribute("aria-label", cfg.t.map_label);
    var cross = S.el("div", { class: "crosshair", "aria-hidden": "true", "data-testid": "crosshair" });
    box.appendChild(cross);
    function place() {
      var c = S.visibleCenter();
      cross.style.left = c.x + "px";
      cross.style.top = c.y + "px";
    }
    box.addEventListener("focus", function () { place(); box.classList.add("kbd"); });
    box.addEventListener("blur", function () { box.classList.remove("kbd"); });
    box.addEventListener("keydown", function (ev) {
      if (ev.target !== box || (ev.key !== "Enter" && ev.key !== " ")) return;
      ev.preventDefault();
      var ll = S.map.containerPointToLatLng(S.visibleCenter()).wrap();
      handler({ lon: ll.lng, lat: ll.lat, crs: cfg.crs });
    });
    window.addEventListener("resize", place);
  };

  /* 适老化: large text, remembered on this device. */
  var LARGE = "shudi.large-text";
  function setLarge(on) {
    document.documentElement.classList.toggle("large-text", on);
    Array.prototype.forEach.call(document.querySelectorAll("[data-large-toggle]"), function (b) {
      b.setAttribute("aria-pressed", on ? "true" : "false");
    });
    try { localStorage.setItem(LARGE, on ? "1" : ""); } catch (e) { /* private mode */ }
  }
  try { if (localStorage.getItem(LARGE) === "1") setLarge(true); } catch (e) { /* none */ }
  Array.prototype.forEach.call(document.querySelectorAll("[data-large-toggle]"), function (b) {
    b.addEventListener("click", function () {
      setLarge(!document.documentElement.classList.contains("large-text"));
      if (S.map) S.map.invalidateSize();
    });
  });

  /* Copy text (a tracking code), or share it where the phone offers sharing. */
  S.copyText = function (text, button, done) {
    function ok() {
      var was = button.textContent;
      button.textContent = done;
      setTimeout(function () { button.textContent = was; }, 2000);
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(ok, fallback);
    } else fallback();
    function fallback() {
      var area = S.el("textarea", { readonly: true, class: "offscreen" });
      area.value = text;
      document.body.appendChild(area);
      area.select();
      try { document.execCommand("copy"); ok(); } catch (e) { /* the code stays visible */ }
      document.body.removeChild(area);
    }
  };
})();
