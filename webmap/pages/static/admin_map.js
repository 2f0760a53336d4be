/* The preview of a boundary generation: its outlines (red) over the active generation's
   (grey, dashed), on a map with no basemap (nothing is fetched from outside the app). */
(function () {
  "use strict";
  function start() {
    var node = document.getElementById("preview-map");
    var cfg = JSON.parse(document.getElementById("preview-config").textContent);
    if (!node || !window.L) return;
    var map = L.map(node, { zoomControl: false, attributionControl: false });
    L.control.zoom({ zoomInTitle: "放大", zoomOutTitle: "缩小" }).addTo(map);
    map.setView([30, 120], 10);
    function draw(url, style, fit) {
      if (!url) return Promise.resolve(null);
      return fetch(url, { credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (fc) {
          var layer = L.geoJSON(fc, {
            style: style,
            onEachFeature: function (f, l) {
              var p = f.properties || {};
              l.bindTooltip(String(p.name || "") + "（" + String(p.code || "") + "）");
            }
          }).addTo(map);
          if (fit && layer.getBounds().isValid()) map.fitBounds(layer.getBounds());
          return layer;
        });
    }
    draw(cfg.old, { color: "#555", weight: 2, dashArray: "5 5", fill: false }, false)
      .then(function () {
        return draw(cfg["new"], { color: "#c0392b", weight: 2, fillOpacity: 0.08 }, true);
      })
      .then(function () { node.dataset.ready = "1"; });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
