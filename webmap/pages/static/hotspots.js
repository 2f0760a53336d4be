/* /map/hotspots: run an analysis through /api/v1/hotspots, draw it as the method's own overlay,
   show its legend and a plain explanation, step through months, list a cell's cases (and put
   the cell on a meeting agenda), zoom to the chosen town, export the current layer or the
   density. Data only via textContent. */
(function () {
  "use strict";
  var S = window.Shudi;
  var cfg = S.cfg;
  var map = S.map;
  if (!map) return;

  var $ = function (id) { return document.getElementById(id); };
  var form = $("hs-form"), status = $("hs-status"), legend = $("hs-legend");
  var slider = $("hs-month"), byMonth = $("hs-by-month"), monthLabel = $("hs-month-label");
  var cellBox = $("hs-cell");
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
  function inconclusive(body) {
    return !!(body.summary && body.summary.conclusive === false);
  }
  function classLabel(k) {
    var n = Number(k), c = { 1: 90, 2: 95, 3: 99 }[Math.abs(n)];
    if (!n) return S.t("ns");
    return S.t(n > 0 ? "hot_conf" : "cold_conf", { c: c });
  }
  function showLegend(method, body) {
    S.clear(legend);
    legend.appendChild(S.el("h2", { text: cfg.methods[method] }));
    var list = S.el("ul", { class: "legend-list" });
    if (inconclusive(body) || method === "count" || method === "kde") {
      list.appendChild(chip(RAMP[0], S.t("fewer")));
      list.appendChild(chip(RAMP[4], S.t("more") + (method === "kde" ? " · " + S.t("density") : "")));
    } else if (method === "gi_star") {
      ["3", "2", "1", "0", "-1", "-2", "-3"].forEach(function (k) {
        list.appendChild(chip(BINS[k][0], classLabel(k)));
      });
    } else if (method === "local_moran") {
      ["HH", "HL", "LH", "LL", "ns"].forEach(function (k) {
        list.appendChild(chip(LABELS[k], S.t(k)));
      });
    } else if (method === "emerging") {
      var seen = (body.summary && body.summary.categories) || {};
      Object.keys(TRENDS).forEach(function (k) {
        if (seen[k]) list.appendChild(chip(TRENDS[k], S.t(k) + "（" + seen[k] + "）"));
      });
    }
    legend.appendChild(list);
    if (body.bandwidth_m) {
      legend.appendChild(S.el("p", { class: "hint", text: S.t("bandwidth", { h: Math.round(body.bandwidth_m) }) }));
    }
    legend.appendChild(S.el("p", { class: "hint", text: S.t("suppressed", { n: cfg.minCount }) }));
    explain(method);
  }
  /* the explanation beside the legend: the current method, then confidence and FDR where a
     method tests significance */
  function explain(method) {
    var tested = method === "gi_star" || method === "local_moran" || method === "emerging";
    document.querySelectorAll("#hs-explain [data-method]").forEach(function (p) {
      p.hidden = p.dataset.method !== method;
    });
    document.querySelectorAll('#hs-explain [data-topic="confidence"], #hs-explain [data-topic="fdr"]')
      .forEach(function (p) { p.hidden = !tested; });
  }
  function clearAll() {
    Object.keys(layers).forEach(function (m) {
      control.removeLayer(layers[m]);
      map.removeLayer(layers[m]);
      delete layers[m];
    });
    S.clear(legend);
    closeCell();
    current = null;
    updateExports();
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
  function tooltip(p) {
    var lines = [];
    if (p.name) lines.push(p.name);
    if (p.gi_bin !== undefined && p.gi_bin !== 0) lines.push(classLabel(p.gi_bin));
    if (p.moran_label !== undefined && p.moran_label !== "ns") lines.push(S.t(p.moran_label));
    if (p.category !== undefined && p.category !== "no_pattern") lines.push(S.t(p.category));
    if (lines.length === (p.name ? 1 : 0) && method0(p)) lines.push(S.t("ns"));
    lines.push(p.count === null ? S.t("fewer_than", { n: cfg.minCount }) : S.t("count_n", { n: p.count }));
    return lines.join(" · ");
  }
  function method0(p) {
    return p.gi_bin !== undefined || p.moran_label !== undefined || p.category !== undefined;
  }
  function drawCells(method, body) {
    var color = styler(inconclusive(body) ? "count" : method, body);
    var layer = L.geoJSON(shifted(body), {
      style: function (f) {
        return { color: "#666", weight: 0.4, fillColor: color(f), fillOpacity: 0.65 };
      },
      onEachFeature: function (f, l) {
        l.bindTooltip(S.el("span", { text: tooltip(f.properties) }), { sticky: true });
        l.on("click", function () { openCell(f.properties); });
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
        clearAll();
        var code = (r.data && r.data.code) || "network";
        status.textContent = code === "not_enough_data" || code === "invalid_hotspot_query"
          ? S.t("empty") : S.t("failed", { code: r.status || code });
        status.classList.add("warn");
        return;
      }
      status.classList.remove("warn");
      closeCell();
      if (p.method === "kde") drawDensity(r.data);
      else drawCells(p.method, r.data);
      current = { method: p.method, params: p };
      status.textContent = p.method === "kde"
        ? S.t("summary_kde", { points: r.data.points, h: Math.round(r.data.bandwidth_m) })
        : inconclusive(r.data)
          ? S.t("inconclusive", { points: r.data.summary.points, min: r.data.summary.min_cases })
          : S.t("summary", { points: r.data.summary.points, cells: r.data.summary.cells });
      if (p.method !== "kde" && inconclusive(r.data)) status.classList.add("warn");
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
    /* the density surface of the current filters, whichever method is shown */
    document.querySelectorAll("[data-density]").forEach(function (a) {
      var ok = !!current;
      var q = ok ? Object.assign({}, current.params) : {};
      ["method", "grid", "interval", "format"].forEach(function (k) { delete q[k]; });
      a.classList.toggle("disabled", !ok);
      a.setAttribute("aria-disabled", ok ? "false" : "true");
      var ext = a.dataset.density === "geotiff" ? "tif" : "png";
      a.href = ok ? cfg.api + "/density." + ext + "?" + new URLSearchParams(q) : "#";
    });
  }

  /* --- a cell's cases ------------------------------------------------------------------------ */
  function closeCell() {
    S.clear(cellBox);
    cellBox.hidden = true;
  }
  function cellUrl(cell, tail) {
    return cfg.api + "/cells/" + encodeURIComponent(cell) + (tail || "") + "?" +
      new URLSearchParams(current.params);
  }
  function openCell(props) {
    if (!current || props.cell === undefined) return;
    var cell = String(props.cell), here = current;
    S.clear(cellBox);
    cellBox.hidden = false;
    var head = S.el("h2", { text: S.t("cell_heading") + (props.name ? "：" + props.name : "") });
    var close = S.el("button", { type: "button", class: "btn link", text: S.t("close_cell") });
    close.addEventListener("click", closeCell);
    var note = S.el("p", { class: "hint", text: S.t("cell_loading") });
    cellBox.appendChild(S.el("div", { class: "cell-head" }, [head, close]));
    cellBox.appendChild(note);
    S.getJSON(cfg.api + "/cells/" + encodeURIComponent(cell), here.params).then(function (r) {
      if (here !== current) return;
      if (!r.ok) { note.textContent = S.t("cell_error"); return; }
      var cases = r.data.cases || [];
      note.textContent = cases.length ? S.t("cell_count", { n: cases.length }) : S.t("cell_none");
      var list = S.el("ul", { class: "cell-list", "data-testid": "cell-cases" });
      cases.forEach(function (c) {
        var a = S.el("a", { href: "/cases/" + c.id, "data-case-id": c.id,
          text: S.t("case_no", { id: c.id }) });
        var when = new Date(c.created_at).toLocaleDateString("zh-CN", { timeZone: "Asia/Shanghai" });
        list.appendChild(S.el("li", {}, [a, " " + c.type_name + " · " +
          ((cfg.status || {})[c.status] || c.status) + " · " + when]));
      });
      cellBox.appendChild(list);
      if (!cases.length) return;
      var add = S.el("button", { type: "button", class: "btn secondary", id: "hs-to-agenda",
        text: S.t("to_agenda") });
      var said = S.el("p", { class: "hint", "aria-live": "polite" });
      add.addEventListener("click", function () {
        add.disabled = true;
        S.fetchJSON(cellUrl(cell, "/agenda"), { method: "POST", credentials: "same-origin" })
          .then(function (a) {
            S.clear(said);
            if (!a.ok) { said.textContent = S.t("agenda_failed"); add.disabled = false; return; }
            said.appendChild(document.createTextNode(a.data.already
              ? S.t("agenda_already") : S.t("agenda_added", { p: a.data.position }) + " "));
            said.appendChild(S.el("a", { href: "/meetings/" + a.data.meeting_id,
              text: S.t("open_meeting") }));
          });
      });
      cellBox.appendChild(add);
      cellBox.appendChild(said);
    });
  }

  /* --- zoom to the chosen town --------------------------------------------------------------- */
  function zoomToTown() {
    var b = (cfg.townBounds || {})[$("hs-town").value];
    if (!b) return;
    var sw = S.onMap({ lon: b[0], lat: b[1], crs: "wgs84" });
    var ne = S.onMap({ lon: b[2], lat: b[3], crs: "wgs84" });
    map.fitBounds([sw, ne], { padding: [20, 20] });
  }

  form.addEventListener("submit", function (e) { e.preventDefault(); run(); });
  byMonth.addEventListener("change", function () { syncSlider(); run(); });
  slider.addEventListener("input", syncSlider);
  slider.addEventListener("change", run);
  $("hs-method").addEventListener("change", function () {
    $("hs-grid").disabled = $("hs-method").value === "kde";
    run();
  });
  $("hs-town").addEventListener("change", function () { zoomToTown(); run(); });
  syncSlider();
  updateExports();
  zoomToTown();
  run();

  S.hotspots = {
    current: function () { return current; },
    cells: function () {
      var l = current && layers[current.method];
      return l && l.getLayers ? l.getLayers().length : 0;
    },
    hasImage: function () { return !!document.querySelector("img.hs-kde"); },
    runs: function () { return runs; },
    layerCount: function () { return Object.keys(layers).length; },
    openCell: function (cell) {
      var l = current && layers[current.method];
      var hit = l && l.getLayers ? l.getLayers().filter(function (x) {
        return String(x.feature.properties.cell) === String(cell);
      })[0] : null;
      if (hit) hit.fire("click");
      return !!hit;
    },
    idle: function () { return status.textContent !== S.t("running"); }
  };
})();
