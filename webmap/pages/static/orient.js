/* Something to find one's way by at every zoom, with no tile server: town names far out,
   community names closer, estate (property area) outlines and names at street zoom, and the
   gazetteer's roads between the estates with their names. Drawn on every map page under the
   page's own layers; nothing here is clickable (taps reach the map).

   Data: /api/v1/places/labels.json (label points of the active towns, communities, estates),
   the outlines from the estates' vector tiles (cfg.tiles.property_area, drawn by vtiles.js:
   only the tiles in view) or, where the page has none (a GCJ-02 basemap),
   /api/v1/layers/property_area.geojson, and /api/v1/places/roads.geojson, each fetched once
   when first needed. Positions are WGS-84, shifted on a GCJ-02 basemap. */
(function () {
  "use strict";
  var div = document.querySelector(".folium-map");
  var map = window.shudiMap || (div && window[div.id]);
  if (!map || !window.L) return;
  var cfgNode = document.getElementById("shudi-config");
  var cfg = {};
  try { cfg = cfgNode ? JSON.parse(cfgNode.textContent) : {}; } catch (e) { cfg = {}; }
  var shift = cfg.crs === "gcj02" && window.Shudi && window.Shudi.wgs84ToGcj02;
  function ll(lon, lat) {
    if (shift) { var g = window.Shudi.wgs84ToGcj02(lon, lat); return L.latLng(g[1], g[0]); }
    return L.latLng(lat, lon);
  }
  // Which zooms show what (the sample district fills a phone at 12-13).
  var Z = { town: [0, 13], community: [14, 15], estate: [16, 22], outline: 15, road: 14,
            roadName: 17 };
  var MAX_LABELS = 220;

  function pane(name, z) {
    if (!map.getPane(name)) {
      var p = map.createPane(name);
      p.style.zIndex = z;
      p.style.pointerEvents = "none";
    }
    return name;
  }
  pane("orient-roads", 350);     // under overlayPane (400): boundaries and cases stay on top
  pane("orient-labels", 450);

  var got = {};
  function load(url) {
    if (!got[url]) {
      got[url] = fetch(url, { headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .catch(function () { return null; });
    }
    return got[url];
  }

  /* Names as plain DOM in their own pane: one layer, not a marker per name (cheaper, and
     nothing here looks like a pin to the page's scripts). */
  var Labels = L.Layer.extend({
    initialize: function () { this._items = []; },
    onAdd: function (m) {
      this._el = L.DomUtil.create("div", "orient-names leaflet-zoom-hide", m.getPane("orient-labels"));
      m.on("zoomend moveend viewreset", this._draw, this);
      this._draw();
    },
    onRemove: function (m) {
      m.off("zoomend moveend viewreset", this._draw, this);
      L.DomUtil.remove(this._el);
    },
    set: function (items) { this._items = items; if (this._map) this._draw(); },
    _draw: function () {
      var m = this._map, el = this._el;
      while (el.firstChild) el.removeChild(el.firstChild);
      var view = m.getBounds().pad(0.1), n = 0;
      for (var i = 0; i < this._items.length && n < MAX_LABELS; i++) {
        var it = this._items[i];
        if (!view.contains(it.at)) continue;
        var p = m.latLngToLayerPoint(it.at);
        var div = document.createElement("div");
        div.className = "orient-label orient-" + it.kind;
        var span = document.createElement("span");
        span.textContent = it.name;
        div.appendChild(span);
        L.DomUtil.setPosition(div, p);
        el.appendChild(div);
        n++;
      }
    },
  });

  var outlines = null, roads = null, roadLabels = new Labels(), labelLayer = new Labels();
  var labels = null, labelZoom = null;
  function drawOutlines(fc) {
    outlines = L.geoJSON(fc, {
      pane: "orient-roads",
      interactive: false,
      coordsToLatLng: function (c) { return ll(c[0], c[1]); },
      style: { color: "#a0815a", weight: 1.2, opacity: 0.9, fillColor: "#f1e4cf",
               fillOpacity: 0.45 },
    });
  }
  function drawRoads(fc) {
    roads = L.layerGroup();
    var opts = { pane: "orient-roads", interactive: false,
                 coordsToLatLng: function (c) { return ll(c[0], c[1]); } };
    L.geoJSON(fc, Object.assign({ style: { color: "#b9b1a3", weight: 7, opacity: 1 } }, opts))
      .addTo(roads);
    var top = L.geoJSON(fc, Object.assign({ style: { color: "#ffffff", weight: 4.5, opacity: 1 } },
                                          opts)).addTo(roads);
    var names = [];
    top.eachLayer(function (line) {
      var name = line.feature && line.feature.properties.name;
      var pts = line.getLatLngs();
      while (pts.length && Array.isArray(pts[0])) pts = pts[0];
      if (!name || pts.length < 2) return;
      var k = Math.floor((pts.length - 1) / 2), a = pts[k], b = pts[k + 1];
      names.push({ at: L.latLng((a.lat + b.lat) / 2, (a.lng + b.lng) / 2), name: name,
                   kind: "road" });
    });
    roadLabels.set(names);
  }
  var OUTLINE = { color: "#a0815a", weight: 1.2, opacity: 0.9, fill: true, fillColor: "#f1e4cf",
                  fillOpacity: 0.45, className: "orient-outline" };
  var tileUrl = cfg.tiles && cfg.tiles.property_area;
  function tiledOutlines() {
    var S = window.Shudi;
    if (!tileUrl || !S || !S.canTile || !S.canTile()) return null;
    return S.boundaryTiles(tileUrl, "property_area", OUTLINE, { pane: "orient-roads" });
  }
  function within(z, range) { return z >= range[0] && z <= range[1]; }

  function update() {
    var z = map.getZoom();
    if (z >= Z.outline) {
      if (outlines) { if (!map.hasLayer(outlines)) outlines.addTo(map); }
      else if ((outlines = tiledOutlines())) outlines.addTo(map);
      else load("/api/v1/layers/property_area.geojson?zoom=16").then(function (fc) {
        if (fc && !outlines) { drawOutlines(fc); update(); }
      });
    } else if (outlines && map.hasLayer(outlines)) map.removeLayer(outlines);
    if (z >= Z.road) {
      if (roads) { if (!map.hasLayer(roads)) roads.addTo(map); }
      else load("/api/v1/places/roads.geojson?zoom=16").then(function (fc) {
        if (fc && !roads) { drawRoads(fc); update(); }
      });
    } else if (roads && map.hasLayer(roads)) map.removeLayer(roads);
    if (z >= Z.roadName) { if (!map.hasLayer(roadLabels)) roadLabels.addTo(map); }
    else if (map.hasLayer(roadLabels)) map.removeLayer(roadLabels);

    if (!labels) {
      load("/api/v1/places/labels.json").then(function (rows) {
        if (rows && !labels) {
          labels = rows.map(function (r) {
            return { at: ll(r.lon, r.lat), name: r.name, kind: r.kind };
          });
          update();
        }
      });
      return;
    }
    if (z !== labelZoom) {  // moves within a zoom are redrawn by the layer itself
      labelZoom = z;
      labelLayer.set(labels.filter(function (r) { return within(z, Z[r.kind] || [99, 99]); }));
    }
    if (!map.hasLayer(labelLayer)) labelLayer.addTo(map);
  }
  map.on("zoomend moveend", update);
  update();
  window.ShudiOrient = { update: update, outlines: function () { return outlines; } };
})();
