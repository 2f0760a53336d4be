/* /map/hotspots: run an analysis through /api/v1/hotspots, draw it as the method's own overlay,
   show its legend, step through months, export the current layer. Data only via textContent. */
(function () {
  "use strict";
  var S = window.Shudi;
  var cfg = S.cfg;
  var map = S.map;
  if (!map) return;

  var $ = function (id) { return document.getElementById(id); };
  var form = $("hs-form"), status = $("hs-status"), legend = $("hs-legend");
  var slider = $("hs-month"), byMonth = $("hs-by-month"), monthLabel = $("hs-month-label");
  var control = L.control.layers(null, null, { collapsed: false, position: "topright" }).addTo(map);
  var layers = {}; /* method → its overlay */
  var current = null; /* {method, params} of the layer last drawn */
  var runs = 0;

  var BINS = {
    "3": ["#d7191c", "hot3"], "2": ["#f17c4a", "hot2"], "1": ["#fec980", "hot1"],
    "0": ["#f0f0f0", "ns"],
    "-1": ["#c7e6f5", "cold1"], "-2": ["#6baed6", "cold2"], "-3": ["#2c7bb6", "cold3"]
  };
  var LABELS = { HH: "#d7191c", LL: "#2c7bb6", HL: "#fdae61", LH: "#abd9e9", ns: "#f0f0f0" };
  var TRENDS = {
    new_hot: "#fdd0a2", consecutive_hot: "#fdae6b", intensifying_hot: "#a50f15",
    persistent_hot: "#de2d26", diminishing_hot: "#fc9272", sporadic_hot: "#fee0d2",
    oscillating_hot: "#f4a582", historical_hot: "#bcbddc",
    new_cold: "#c6dbef", intensifying_cold: "#08519c", persistent_cold: "#3182bd",
    diminishing_cold: "#9ecae1", sporadic_cold: "#deebf7", historical_cold: "#dadaeb",
    no_pattern: "#f0f0f0"
  };
  var RAMP = ["#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026"];

  /* --- the month slider ------------------------------------------------------------------- */
  var months = cfg.months || [];
  slider.max = String(Math.max(months.length - 1, 0));
  slider.value = slider.max;
  function monthRange() {
    if (!byMonth.checked || !months.length) return null;
    var m = months[Number(slider.value)];
    var y = Number(m.slice(0, 4)), mo = Number(m.slice(5, 7));
    var next = mo === 12 ? (y + 1) + "-01" : y + "-" + String(mo + 1).padStart(2, "0");
    return { from: m + "-01T00:00:00+08:00", to: next + "-01T00:00:00+08:00", label: m };
  }
  function syncSlider() {
    slider.disabled = !byMonth.checked || !months.length;
    var r = monthRange();
    monthLabel.textContent = r ? r.label : S.t("all_time");
  }

  /* --- parameters --------------------------------------------------------------------------- */
  function params() {
    var p = { method: $("hs-method").value };
    if (p.method !== "kde") p.grid = $("hs-grid").value;
    [["type", "hs-type"], ["agency", "hs-agency"], ["town", "hs-town"]].forEach(function (f) {
      if ($(f[1]).value) p[f[0]] = $(f[1]).value;
    });
    var r = monthRange();
    if (r) { p.from = r.from; p.to = r.to; }
    if (p.method === "emerging") p.interval = "W";
    return p;
  }

  /* --- drawing ------------------------------------------------------------------------------- */
  /* GeoJSON in WGS-84 → this map's system (GCJ-02 basemaps shift overlays). */
  function shifted(fc) {
    if (cfg.crs !== "gcj02") return fc;
    function walk(c) {
      if (typeof c[0] === "number") return S.wgs84ToGcj02(c[0], c[1]);
      return c.map(walk);
    }
    fc.features.forEach(function (f) { f.geometry.coordinates = walk(f.geometry.coordinates); });
    return fc;
  }
  function quantiles(values) {
    var v = values.filter(function (x) { return typeof x === "number" && x > 0; }).sort(
      function (a, b) { return a - b; });
    if (!v.length) return [0, 0, 0, 0];
    return [0.2, 0.4, 0.6, 0.8].map(function (q) { return v[Math.floor(q * (v.length - 1))]; });
  }
  function styler(method, fc) {
    if (method === "gi_star") {
      return function (f) { return BINS[String(f.properties.gi_bin)][0]; };
    }
    if (method === "local_moran") {
      return function (f) { return LABELS[f.properties.moran_label] || LABELS.ns; };
    }
    if (method === "emerging") {
      return function (f) { return TRENDS[f.properties.category] || TRENDS.no_pattern; };
    }
    var breaks = quantiles(fc.features.map(function (f) { return f.properties.per_km2; }));
    return function (f) {
      var x = f.properties.per_km2;
      if (x === null || x === undefined) return "#d9d9d9"; /* withheld */
      var i = 0;
      while (i < breaks.length && x > breaks[i]) i++;
      return RAMP[i];
    };
  }
  function chip(color, text) {
    var sw = S.el("span", { class: "chip" });
    sw.style.background = color;
    return S.el("li", {}, [sw, text]);
  }
  function showLegend(method, body) {
    S.clear(legend);
    legend.appendChild(S.el("h2", { text: cfg.methods[method] }));
    var list = S.el("ul", { class: "legend-list" });
    if (method === "gi_star") {
      ["3", "2", "1", "0", "-1", "-2", "-3"].forEach(function (k) {
        list.appendChild(chip(BINS[k][0], S.t(BINS[k][1])));
      });
    } else if (method === "local_moran") {
      ["HH", "HL", "LH", "LL", "ns"].forEach(function (k) {
        list.appendChild(chip(LABELS[k], S.t(k)));
      });
    } else if (method === "emerging") {
      var seen = (body.summary && body.summary.categories) || {};
      Object.keys(TRENDS).forEach(function (k) {
        if (seen[k]) list.appendChild(chip(TRENDS[k], S.t(k) + " (" + seen[k] + ")"));
      });
    } else {
      list.appendChild(chip(RAMP[0], S.t("fewer")));
      list.appendChild(chip(RAMP[4], S.t("more") + (method === "kde" ? " · " + S.t("density") : "")));
    }
    legend.appendChild(list);
    var p = body.parameters || {};
    var note = p.neighbourhood || (body.bandwidth_m ? "h = " + body.bandwidth_m + " m" : "");
    if (note) legend.appendChild(S.el("p", { class: "hint", text: note }));
    legend.appendChild(S.el("p", { class: "hint", text: S.t("suppressed", { n: cfg.minCount }) }));
  }
  function replaceLayer(method, layer) {
    if (layers[method]) {
      control.removeLayer(layers[method]);
      map.removeLayer(layers[method]);
    }
    Object.keys(layers).forEach(function (m) { if (m !== method) map.removeLayer(layers[m]); });
    layers[method] = layer.addTo(map);
    control.addOverlay(layer, cfg.methods[method]);
  }
  function drawCells(method, body) {
    var color = styler(method, body);
    var layer = L.geoJSON(shifted(body), {
      style: function (f) {
        return { color: "#666", weight: 0.4, fillColor: color(f), fillOpacity: 0.65 };
      },
      onEachFeature: function (f, l) {
        var p = f.properties, lines = [p.name || p.cell];
        lines.push((p.count === null ? "<" + cfg.minCount : p.count) + "");
        if (p.gi_z !== undefined) lines.push("Gi* z " + p.gi_z + ", p " + p.gi_p);
        if (p.moran_label !== undefined) lines.push("Moran " + p.moran_label);
        if (p.category !== undefined) lines.push(S.t(p.category));
        l.bindTooltip(S.el("span", { text: lines.join(" · ") }), { sticky: true });
      }
    });
    replaceLayer(method, layer);
  }
  function drawDensity(body) {
    var b = body.bounds; /* west, south, east, north (WGS-84) */
    var sw = S.onMap({ lon: b[0], lat: b[1], crs: "wgs84" });
    var ne = S.onMap({ lon: b[2], lat: b[3], crs: "wgs84" });
    replaceLayer("kde", L.imageOverlay(body.image, [sw, ne], { opacity: 0.8, className: "hs-kde" }));
  }

  function run() {
    var p = params();
    var mine = ++runs;
    status.textContent = S.t("running");
    S.getJSON(cfg.api, p).then(function (r) {
      if (mine !== runs) return;
      if (!r.ok) {
        status.textContent = S.errorText(r.data);
        return;
      }
      if (p.method === "kde") drawDensity(r.data);
      else drawCells(p.method, r.data);
      current = { method: p.method, params: p };
      status.textContent = p.method === "kde"
        ? S.t("summary_kde", { points: r.data.points, h: Math.round(r.data.bandwidth_m) })
        : S.t("summary", { points: r.data.summary.points, cells: r.data.summary.cells });
      showLegend(p.method, r.data);
      updateExports();
    });
  }
  function updateExports() {
    document.querySelectorAll("[data-export]").forEach(function (a) {
      var ok = current && current.method !== "kde";
      a.classList.toggle("disabled", !ok);
      a.setAttribute("aria-disabled", ok ? "false" : "true");
      a.href = ok ? cfg.api + "." + a.dataset.export + "?" + new URLSearchParams(current.params) : "#";
    });
  }

  form.addEventListener("submit", function (e) { e.preventDefault(); run(); });
  byMonth.addEventListener("change", function () { syncSlider(); run(); });
  slider.addEventListener("input", syncSlider);
  slider.addEventListener("change", run);
  $("hs-method").addEventListener("change", function () {
    $("hs-grid").disabled = $("hs-method").value === "kde";
    run();
  });
  syncSlider();
  updateExports();
  run();

  S.hotspots = {
    current: function () { return current; },
    cells: function () {
      var l = current && layers[current.method];
      return l && l.getLayers ? l.getLayers().length : 0;
    },
    hasImage: function () { return !!document.querySelector("img.hs-kde"); },
    runs: function () { return runs; },
    idle: function () { return status.textContent !== S.t("running"); }
  };
})();
