/* Boundaries drawn from the app's vector tiles (/tiles/{collection}/{z}/{x}/{y}.mvt,
   api/vector_tiles.py) with Leaflet.VectorGrid, instead of whole GeoJSON layers in the page.

   The server hands the tile URL templates over (Shudi.cfg.tiles: layer key → URL pinned to the
   active generation) only when the basemap is not GCJ-02 (tiles are Web Mercator of WGS-84
   positions; on a GCJ-02 basemap the pages keep shifted GeoJSON). cfg.boundaryTiles lists the
   page's own boundary layers to draw, never clickable (a tap goes through to the map).
   Names from the tiles reach the page with textContent only. */
(function () {
  "use strict";
  var S = window.Shudi;
  var map = S && S.map;
  if (!S || !map || !window.L) return;

  S.canTile = function () {
    return !!(L.vectorGrid && L.vectorGrid.protobuf) && S.cfg.crs !== "gcj02";
  };

  /* A VectorGrid of one collection. style: L.Path options (className included);
     opts.pane; opts.tip: the area's name follows the pointer over it. */
  S.boundaryTiles = function (url, collection, style, opts) {
    opts = opts || {};
    if (opts.tip && !opts.pane) {
      /* above the page's GeoJSON boundaries (overlayPane, 400: their fill would take the
         pointer), under the markers (600) */
      opts.pane = "shudi-area-tiles";
      if (!map.getPane(opts.pane)) map.createPane(opts.pane).style.zIndex = 410;
    }
    var styles = {};
    styles[collection] = function () { return style; };
    var layer = L.vectorGrid.protobuf(url, {
      vectorTileLayerStyles: styles,
      interactive: !!opts.tip,
      pane: opts.pane || "overlayPane",
      maxNativeZoom: 20,
      fetchOptions: { credentials: "omit" }, // public tiles: no cookie, so caches may share them
      getFeatureId: function (f) { return f.properties.code; }, // keeps the drawn tiles' areas
    });
    layer.collection = collection;
    if (opts.tip) {
      var tip = L.tooltip({ sticky: true, direction: "top", offset: [0, -6],
                            className: opts.tipClass || "area-tip" });
      layer.on("mouseover", function (e) {
        var p = (e.layer && e.layer.properties) || {};
        var name = p.name || p.code;
        if (!name) return;
        tip.setContent(S.el("span", { text: name })).setLatLng(e.latlng);
        if (!map.hasLayer(tip)) tip.addTo(map);
      });
      layer.on("mousemove", function (e) { if (map.hasLayer(tip)) tip.setLatLng(e.latlng); });
      layer.on("mouseout", function () { if (map.hasLayer(tip)) map.removeLayer(tip); });
      layer.on("remove", function () { if (map.hasLayer(tip)) map.removeLayer(tip); });
    }
    return layer;
  };

  /* The codes of the areas a tile layer has drawn (for tests and the page's own checks). */
  S.tileCodes = function (layer) {
    var seen = {};
    Object.keys(layer._vectorTiles || {}).forEach(function (k) {
      Object.keys(layer._vectorTiles[k]._features || {}).forEach(function (code) {
        seen[code] = true;
      });
    });
    return Object.keys(seen).sort();
  };

  S.tileLayers = {};
  if (!S.canTile()) return;
  (S.cfg.boundaryTiles || []).forEach(function (b) {
    var style = Object.assign({ className: "area area-" + b.layer }, b.style);
    S.tileLayers[b.layer] = S.boundaryTiles(b.url, b.layer, style).addTo(map);
  });
})();
