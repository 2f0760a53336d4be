/* /cases/{id}: the case on a map — its pin and the town/community boundaries around it. Who may
   correct the location drags the pin: the new territory and handler are previewed (the routing
   API, GET /api/v1/route) and the position is put into the "correct location" form, which saves
   it only when submitted. */
(function () {
  "use strict";
  var S = window.Shudi, cfg = S.cfg, t = S.t, el = S.el, m = cfg.caseMap;
  var box = document.getElementById("case-map");
  if (!m || !box || !window.L) return;
  var map = L.map(box, { minZoom: m.minZoom, maxZoom: m.maxZoom, scrollWheelZoom: false });
  (m.tiles || []).forEach(function (tl) {
    L.tileLayer(tl.url, { attribution: tl.attribution, subdomains: tl.subdomains,
      maxNativeZoom: tl.maxNativeZoom, maxZoom: m.maxZoom }).addTo(map);
  });
  var home = S.onMap({ lon: m.lon, lat: m.lat, crs: "wgs84" });
  map.setView(home, 17);
  S.caseMap = map;
  if (S.localizeControls) S.localizeControls(); // its zoom buttons in the page's language

  /* The boundaries around the case (WGS-84 from the layer API, drawn as the basemap needs). */
  function toLatLng(c) { return L.latLng(S.onMap({ lon: c[0], lat: c[1], crs: "wgs84" })); }
  var pad = 0.01;
  var bbox = [m.lon - pad, m.lat - pad, m.lon + pad, m.lat + pad].map(function (v) {
    return v.toFixed(6);
  }).join(",");
  [["town", { color: "#3d5a80", weight: 2.5, fill: false }],
   ["community", { color: "#7d8fa3", weight: 1.2, dashArray: "4 4", fill: false }]].forEach(function (l) {
    S.getJSON("/api/v1/layers/" + l[0] + ".geojson", { bbox: bbox, zoom: 16 }).then(function (r) {
      if (!r.ok) return;
      L.geoJSON(r.data, {
        coordsToLatLng: toLatLng, interactive: false,
        style: function () { return Object.assign({ className: "area area-" + l[0] }, l[1]); },
      }).addTo(map);
    });
  });

  var pin = L.marker(home, { draggable: !!m.canMove, keyboard: true, title: t("map_pin"),
    alt: t("map_pin") }).addTo(map);
  if (!m.canMove) return;

  /* A position on this map → WGS-84 (GCJ-02 tiles: the forward shift inverted by iteration). */
  function wgs(ll) {
    if (cfg.crs !== "gcj02") return [ll.lng, ll.lat];
    var x = ll.lng, y = ll.lat;
    for (var i = 0; i < 3; i++) {
      var g = S.wgs84ToGcj02(x, y);
      x += ll.lng - g[0];
      y += ll.lat - g[1];
    }
    return [x, y];
  }
  var preview = document.getElementById("move-preview");
  var form = document.querySelector('[data-testid="action-correct_location"]');
  var seq = 0;
  function moved() {
    var p = wgs(pin.getLatLng()), mine = ++seq;
    if (form) {
      form.querySelector('input[name="lon"]').value = p[0].toFixed(7);
      form.querySelector('input[name="lat"]').value = p[1].toFixed(7);
    }
    S.clear(preview).appendChild(el("p", { class: "hint", text: t("loading") }));
    preview.hidden = false;
    S.getJSON("/api/v1/route", { lon: p[0], lat: p[1], type: m.typeCode }).then(function (r) {
      if (mine !== seq) return;
      S.clear(preview);
      if (!r.ok) { preview.appendChild(S.errorNode(r.data)); return; }
      var terr = r.data.territory || {}, h = r.data.handler || {};
      var place = [terr.town, terr.community, r.data.property_area].filter(Boolean)
        .map(function (a) { return a.name; }).join(" · ");
      var who = (h.name || "") + (h.unit && h.unit.name ? "（" + h.unit.name + "）" : "");
      var dl = el("dl", { class: "facts", "data-testid": "move-preview-facts" }, [
        el("dt", { text: t("new_place") }), el("dd", { text: place || "—" }),
        el("dt", { text: t("new_handler") }), el("dd", { class: "handler-name", text: who || "—" }),
      ]);
      preview.appendChild(el("p", { class: "warn", text: t("move_hint") }));
      preview.appendChild(dl);
    });
  }
  pin.on("dragend", moved);
  S.casePin = { marker: pin, moved: moved };
})();
