/* /track/{code}: rate or dispute the result, with the tracking code alone. */
(function () {
  "use strict";
  var S = window.Shudi, cfg = S.cfg;
  var t = function (k) { return cfg.t[k] || k; };
  var errorBox = document.getElementById("error");
  var busy = false;

  function showError(text) {
    if (!errorBox) return;
    errorBox.textContent = text;
    errorBox.hidden = !text;
  }
  function post(body, buttons) {
    if (busy) return;
    busy = true;
    showError("");
    buttons.forEach(function (b) { b.disabled = true; });
    fetch("/api/v1/track/" + encodeURIComponent(cfg.code), {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(body),
    })
      .then(function (r) {
        return r.json().catch(function () { return { code: "unknown" }; }).then(function (data) {
          if (r.ok) {
            window.location.reload();
            return;
          }
          throw data;
        });
      })
      .catch(function (e) {
        showError(S.errorText(e && e.code ? e : { code: "network" }));
        busy = false;
        buttons.forEach(function (b) { b.disabled = false; });
      });
  }

  var rate = document.getElementById("rate");
  if (rate) {
    var buttons = Array.prototype.slice.call(rate.querySelectorAll("button[data-satisfaction]"));
    buttons.forEach(function (b) {
      b.addEventListener("click", function () {
        post({ action: "rate", satisfaction: b.getAttribute("data-satisfaction") }, buttons);
      });
    });
  }
  var dispute = document.getElementById("dispute-form");
  if (dispute) {
    dispute.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var note = document.getElementById("dispute-note").value.trim();
      if (!note) return showError(t("note_needed"));
      post({ action: "dispute", note: note }, [dispute.querySelector("button")]);
    });
  }

  /* the code: copy it, or share it where the phone can */
  var copy = document.getElementById("copy-code"), share = document.getElementById("share-code");
  if (copy) copy.addEventListener("click", function () { S.copyText(cfg.code, copy, t("copied")); });
  if (share && navigator.share) {
    share.hidden = false;
    share.addEventListener("click", function () {
      navigator.share({ title: document.title, text: cfg.code, url: window.location.href })
        .catch(function () { /* cancelled */ });
    });
  }

  /* the place on a small map: the basemap's tiles if any, the estate and community outlines */
  var box = document.getElementById("mini-map");
  if (box && cfg.point && window.L) {
    var shift = function (lon, lat) {
      if (cfg.crs !== "gcj02") return [lat, lon];
      var g = S.wgs84ToGcj02(lon, lat);
      return [g[1], g[0]];
    };
    var m = L.map(box, { zoomControl: true, scrollWheelZoom: false,
      attributionControl: (cfg.tiles || []).length > 0 });
    m.setView(shift(cfg.point.lon, cfg.point.lat), 17);
    (cfg.tiles || []).forEach(function (tl) {
      L.tileLayer(tl.url, { subdomains: tl.subdomains, attribution: tl.attribution,
        maxNativeZoom: tl.max_native_zoom, maxZoom: 19 }).addTo(m);
    });
    var d = 0.006, p = cfg.point;
    var bbox = [p.lon - d, p.lat - d, p.lon + d, p.lat + d].join(",");
    [["community", { color: "#7d8fa3", weight: 1, dashArray: "4 4", fill: false }],
     ["property_area", { color: "#3d5a80", weight: 2, fillOpacity: 0.06 }]].forEach(function (l) {
      S.getJSON("/api/v1/layers/" + l[0] + ".geojson", { bbox: bbox, zoom: 17 }).then(function (r) {
        if (!r.ok || !r.data.features) return;
        L.geoJSON(r.data, { style: l[1], interactive: false,
          coordsToLatLng: function (c) { return L.latLng(shift(c[0], c[1])); } }).addTo(m);
      });
    });
    L.circleMarker(shift(p.lon, p.lat), { radius: 9, color: "#fff", weight: 3,
      fillColor: "#b3261e", fillOpacity: 1 }).addTo(m);
  }
})();
