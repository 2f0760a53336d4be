/* /follow: choose an estate or a community (search with the keyboard, or tap the map), give a
   phone or e-mail, confirm with the code sent there (POST /api/v1/follows, then
   /api/v1/follows/confirm). Everything from the API goes into the page with textContent. */
(function () {
  "use strict";
  var S = window.Shudi, cfg = S.cfg, t = S.t;
  var $ = function (id) { return document.getElementById(id); };
  var search = $("fa-search"), results = $("fa-results"), chosenBox = $("fa-chosen");
  var errorBox = $("fa-error"), codeCard = $("fa-code-card"), done = $("fa-done");
  var chosen = null, pending = null, busy = false, map = null, outline = null;
  var layerName = function (l) { return t("layer_" + l); };

  function showError(text) { errorBox.textContent = text || ""; errorBox.hidden = !text; }
  function errorText(data) {
    return (data && data.message) || S.t("network_error");
  }
  function post(path, body) {
    return S.fetchJSON(path, { method: "POST", body: JSON.stringify(body),
      headers: { "Content-Type": "application/json" } });
  }

  /* --- choosing the area ---------------------------------------------------------------- */
  function choose(area, fromMap) {
    chosen = area;
    S.clear(chosenBox);
    var feed = "/feeds/areas/" + area.layer + "/" + area.code + ".atom";
    chosenBox.appendChild(document.createTextNode(t("chosen")));
    chosenBox.appendChild(S.el("strong", { text: area.name }));
    chosenBox.appendChild(document.createTextNode(
      "（" + layerName(area.layer) + (area.parent ? "，" + area.parent : "") + "） "));
    chosenBox.appendChild(S.el("a", { href: feed, "data-testid": "area-feed",
      type: "application/atom+xml", text: t("feed") }));
    chosenBox.hidden = false;
    var link = document.querySelector('link[rel="alternate"][type="application/atom+xml"]');
    if (!link) {
      link = S.el("link", { rel: "alternate", type: "application/atom+xml" });
      document.head.appendChild(link);
    }
    link.setAttribute("href", feed);
    link.setAttribute("title", area.name);
    showError("");
    if (map && area.lon !== undefined) {
      var ll = S.onMap({ lon: area.lon, lat: area.lat, crs: "wgs84" });
      if (!fromMap) map.setView(ll, 16, { animate: false });
      if (outline) outline.setLatLng(ll); else outline = L.circleMarker(ll, { radius: 9,
        color: "#fff", weight: 3, fillColor: "#3d5a80", fillOpacity: 1, interactive: false }).addTo(map);
    }
  }

  function render(q) {
    S.clear(results);
    q = q.trim();
    if (!q) return;
    var hits = cfg.areas.filter(function (a) {
      return a.name.indexOf(q) >= 0 || a.parent.indexOf(q) >= 0;
    }).slice(0, 12);
    if (!hits.length) {
      results.appendChild(S.el("li", { class: "hint", text: t("no_match") }));
      return;
    }
    hits.forEach(function (a) {
      var b = S.el("button", { type: "button", class: "btn secondary fa-hit",
        "data-testid": "area-result", "data-layer": a.layer, "data-code": a.code },
        [a.name + "（" + layerName(a.layer) + (a.parent ? "，" + a.parent : "") + "）"]);
      b.addEventListener("click", function () {
        choose(a);
        S.clear(results);
        $("fa-contact").focus();
      });
      results.appendChild(S.el("li", {}, [b]));
    });
  }
  search.addEventListener("input", function () { render(search.value); });
  search.addEventListener("keydown", function (ev) {
    if (ev.key === "Enter") {  // Enter takes the first result
      ev.preventDefault();
      var first = results.querySelector("button");
      if (first) first.click();
    }
  });

  /* --- the map: tap a place, it is resolved to its estate (or community) ----------------- */
  var box = $("fa-map");
  if (box && window.L && cfg.areas.length) {
    map = L.map(box, { zoomControl: true, scrollWheelZoom: false,
      attributionControl: (cfg.tiles || []).length > 0 });
    (cfg.tiles || []).forEach(function (tl) {
      L.tileLayer(tl.url, { subdomains: tl.subdomains, attribution: tl.attribution,
        maxNativeZoom: tl.max_native_zoom, maxZoom: 19 }).addTo(map);
    });
    var lls = cfg.areas.map(function (a) { return S.onMap({ lon: a.lon, lat: a.lat, crs: "wgs84" }); });
    map.fitBounds(L.latLngBounds(lls), { padding: [10, 10] });
    S.followMap = map;  // (tests tap a known place through it)
    var shift = function (c) { return L.latLng(S.onMap({ lon: c[0], lat: c[1], crs: "wgs84" })); };
    S.getJSON("/api/v1/layers/community.geojson", { zoom: 13 }).then(function (r) {
      if (!r.ok || !r.data.features) return;
      L.geoJSON(r.data, { style: { color: "#7d8fa3", weight: 1, fillOpacity: 0.04 },
        interactive: false, coordsToLatLng: shift }).addTo(map);
    });
    var byCode = {};
    cfg.areas.forEach(function (a) { byCode[a.layer + ":" + a.code] = a; });
    map.on("click", function (ev) {
      var p = ev.latlng;
      S.getJSON("/api/v1/resolve", { lon: p.lng, lat: p.lat, crs: cfg.crs }).then(function (r) {
        var d = r.ok ? r.data : {};
        var hit = (d.property_area && byCode["property_area:" + d.property_area.code]) ||
          (d.community && byCode["community:" + d.community.code]);
        if (!hit) { showError(t("nothing_here")); return; }
        choose(hit, true);
      });
    });
  }
  if (cfg.chosen) {
    var pre = cfg.areas.filter(function (a) {
      return a.layer === cfg.chosen.layer && a.code === cfg.chosen.code;
    })[0];
    choose(pre || { layer: cfg.chosen.layer, code: cfg.chosen.code, name: cfg.chosen.name, parent: "" });
  }

  /* --- the address, then the code -------------------------------------------------------- */
  $("fa-contact-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    if (busy) return;
    if (!chosen) { showError(t("choose_first")); search.focus(); return; }
    var contact = $("fa-contact").value.trim();
    if (!contact) { $("fa-contact").focus(); return; }
    busy = true;
    showError("");
    post("/api/v1/follows", { area_layer: chosen.layer, area_code: chosen.code, contact: contact })
      .then(function (r) {
        busy = false;
        if (!r.ok) { showError(errorText(r.data)); return; }
        pending = { ref: r.data.confirm_ref, to: r.data.recipient, area: chosen };
        $("fa-sent").textContent = t("sent", { to: r.data.recipient });
        codeCard.hidden = false;
        $("fa-code").value = "";
        $("fa-code").focus();
      });
  });
  $("fa-code-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    if (busy || !pending) return;
    var code = $("fa-code").value.trim();
    if (!/^\d{6}$/.test(code)) { $("fa-code").focus(); return; }
    busy = true;
    showError("");
    post("/api/v1/follows/confirm", { ref: pending.ref, code: code }).then(function (r) {
      busy = false;
      if (!r.ok) { showError(errorText(r.data)); $("fa-code").select(); return; }
      var area = r.data.area || {};
      S.clear(done);
      done.appendChild(S.el("p", { "data-testid": "follow-confirmed",
        text: t("done", { area: area.name || pending.area.name, to: r.data.recipient }) }));
      done.appendChild(S.el("p", {}, [S.el("a", { href: area.feed, text: t("feed"),
        type: "application/atom+xml" })]));
      done.hidden = false;
      codeCard.hidden = true;
      done.setAttribute("tabindex", "-1");
      done.focus();
    });
  });
})();
