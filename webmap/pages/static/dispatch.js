/* /map/dispatch: the open cases live on the map (Leaflet.markercluster), the territories as
   switchable layers, a 30-day heat map, filters and the list of the cases in view.
   The feed is polled every cfg.pollMs with since = the previous answer's `now`; closed and
   rejected cases leave the map, every other feature is put in (or replaced) by its id.
   Data from the API reaches the page only through textContent (popups and list are nodes). */
(function () {
  "use strict";
  var S = window.Shudi, cfg = S.cfg, t = S.t, el = S.el, map = S.map;
  if (!map || !L.markerClusterGroup) return;
  var CLOSED = { closed: true, rejected: true };
  var DONE = { resolved: true, closed: true, rejected: true };
  var LIST_MAX = 200;
  var HOUR = 3600e3;
  var en = cfg.lang === "en";
  function $(id) { return document.getElementById(id); }

  var cases = new Map(); // id → {f: feature, m: marker, late: overdue now, shown: in the cluster}
  var since = null;
  var communityNames = {};

  /* --- markers ------------------------------------------------------------------------------ */
  function token(s) { return String(s || "").replace(/[^A-Za-z0-9_]/g, ""); }
  function escapeHtml(s) {
    return String(s).replace(/[&<>"']/g, function (c) { return "&#" + c.charCodeAt(0) + ";"; });
  }
  var icons = {};
  function iconFor(p, late) {
    var key = p.status + "|" + p.agency + "|" + (late ? 1 : 0);
    if (!icons[key]) {
      var a = cfg.agencies[p.agency] || {};
      icons[key] = L.divIcon({
        className: "case-marker st-" + token(p.status) + (late ? " late" : ""),
        html: "<span>" + escapeHtml(a.mark || "?") + "</span>",
        iconSize: [26, 26], iconAnchor: [13, 13], popupAnchor: [0, -12],
      });
    }
    return icons[key];
  }
  function clusterIcon(cluster) {
    var n = cluster.getChildCount(), late = 0;
    cluster.getAllChildMarkers().forEach(function (m) { if (m.options.late) late++; });
    var size = n < 10 ? "small" : n < 100 ? "medium" : "large";
    return L.divIcon({
      html: "<div><span>" + n + "</span></div>" + (late ? '<b class="late-n">' + late + "</b>" : ""),
      className: "marker-cluster marker-cluster-" + size + (late ? " has-late" : ""),
      iconSize: L.point(40, 40),
    });
  }

  /* Chunked loading adds big batches in slices over several frames; a marker still waiting in a
     slice cannot be removed yet, so changes wait until the cluster is idle. */
  var busy = false, queue = [];
  var cluster = L.markerClusterGroup({
    chunkedLoading: true,
    chunkProgress: function (done, total) {
      busy = done < total;
      if (!busy) setTimeout(drain, 0);
    },
    showCoverageOnHover: false,
    maxClusterRadius: 60,
    iconCreateFunction: clusterIcon,
  }).addTo(map);
  function whenIdle(fn) { if (busy) queue.push(fn); else fn(); }
  function drain() { while (!busy && queue.length) queue.shift()(); }
  function hide(e) {
    if (e.shown) { cluster.removeLayer(e.m); e.shown = false; }
  }

  /* --- filters ------------------------------------------------------------------------------ */
  var F = { agency: $("f-agency"), type: $("f-type"), status: $("f-status"), town: $("f-town") };
  var overdueOnly = $("f-overdue");
  function passes(e) {
    var p = e.f.properties;
    return (!F.agency.value || p.agency === F.agency.value) &&
      (!F.type.value || p.type === F.type.value) &&
      (!F.status.value || p.status === F.status.value) &&
      (!F.town.value || p.town === F.town.value) &&
      (!overdueOnly.checked || e.late);
  }
  function refilter() {
    whenIdle(function () {
      var add = [], remove = [];
      cases.forEach(function (e) {
        var ok = passes(e);
        if (ok && !e.shown) { add.push(e.m); e.shown = true; }
        else if (!ok && e.shown) { remove.push(e.m); e.shown = false; }
      });
      if (remove.length) cluster.removeLayers(remove);
      if (add.length) cluster.addLayers(add);
      renderList();
    });
  }
  var form = $("filters");
  form.addEventListener("change", refilter);
  form.addEventListener("submit", function (ev) { ev.preventDefault(); });
  form.addEventListener("reset", function () { setTimeout(refilter, 0); });

  /* --- cases in, changed, out --------------------------------------------------------------- */
  function idOf(f) { return f.id !== undefined && f.id !== null ? f.id : f.properties.id; }
  function latLngOf(f) {
    var c = f.geometry.coordinates;
    return S.onMap({ lon: c[0], lat: c[1], crs: "wgs84" });
  }
  function isLate(p, now) {
    if (DONE[p.status] || !p.due_at) return false;
    return !!p.overdue || Date.parse(p.due_at) < now;
  }
  /* (Re)draw one case from its feature; its marker is collected in `add` when it passes. */
  function draw(e, f, late, add) {
    hide(e);
    e.f = f;
    e.late = late;
    e.m.options.late = late;
    e.m.setLatLng(latLngOf(f));
    e.m.setIcon(iconFor(f.properties, late));
    if (passes(e)) { add.push(e.m); e.shown = true; }
  }
  /* Put features in; returns how many cases changed. */
  function apply(features) {
    var now = Date.now(), add = [], changed = 0;
    features.forEach(function (f) {
      var id = idOf(f), p = f.properties || {}, e = cases.get(id);
      if (CLOSED[p.status]) {
        if (e) { hide(e); cases.delete(id); changed++; }
        return;
      }
      var old = e && e.f.properties;
      if (old && old.updated_at === p.updated_at && old.status === p.status) return;
      changed++;
      if (!e) {
        e = { f: f, late: false, shown: false };
        e.m = L.marker(latLngOf(f), { keyboard: false, late: false, icon: iconFor(p, false) });
        e.m.bindPopup(popupOf(e), { maxWidth: 320, minWidth: 220 });
        cases.set(id, e);
      }
      draw(e, f, isLate(p, now), add);
    });
    if (add.length) cluster.addLayers(add);
    return changed;
  }
  /* Deadlines pass without the case changing: redraw the cases that became overdue. */
  function refreshLate() {
    whenIdle(function () {
      var now = Date.now(), add = [], changed = 0;
      cases.forEach(function (e) {
        var late = isLate(e.f.properties, now);
        if (late !== e.late) { draw(e, e.f, late, add); changed++; }
      });
      if (add.length) cluster.addLayers(add);
      if (changed) renderList();
    });
  }

  /* --- words --------------------------------------------------------------------------------- */
  function fmtTime(s) {
    var ms = Date.parse(s);
    if (!s || isNaN(ms)) return s || "";
    return new Date(ms + 8 * HOUR).toISOString().slice(0, 16).replace("T", " "); // Beijing time
  }
  function age(s) {
    var ms = Date.now() - Date.parse(s);
    if (!(ms >= 0)) return "";
    var d = Math.floor(ms / 864e5), h = Math.floor((ms % 864e5) / HOUR);
    var m = Math.floor((ms % HOUR) / 60e3);
    var parts = d ? [t("days", { n: d }), t("hours", { n: h })]
      : h ? [t("hours", { n: h }), t("minutes", { n: m })] : [t("minutes", { n: m })];
    return t("ago", { t: parts.join(en ? " " : "") });
  }
  function typeName(p) {
    return (en && cfg.types[p.type]) || p.type_name || cfg.types[p.type] || p.type || "";
  }
  function handlerName(p) {
    return p.handler || (cfg.agencies[p.agency] || {}).name || p.agency || "";
  }
  function placeOf(p) {
    if (p.address) return p.address;
    return [cfg.towns[p.town] || p.town, communityNames[p.community] || p.community]
      .filter(Boolean).join(" · ");
  }
  function dueText(e) {
    var p = e.f.properties;
    if (!p.due_at) return t("no_due");
    return fmtTime(p.due_at) + (e.late ? " · " + t("overdue") : "");
  }

  function popupOf(e) {
    return function () {
      var p = e.f.properties, id = idOf(e.f);
      var dl = el("dl", { class: "facts" });
      function row(label, value, cls) {
        if (!value) return;
        dl.appendChild(el("dt", { text: label }));
        dl.appendChild(el("dd", { text: value, class: cls || null }));
      }
      row(t("status"), cfg.statuses[p.status] || p.status);
      row(t("address"), placeOf(p));
      row(t("age"), age(p.created_at) + (en ? " (" : "（") + fmtTime(p.created_at) + (en ? ")" : "）"));
      row(t("due"), dueText(e), e.late ? "warn" : null);
      row(t("handler"), handlerName(p));
      var link = el("a", {
        href: cfg.caseUrl + encodeURIComponent(id), target: "_blank", rel: "noopener",
        text: t("open_case") + " #" + id,
      });
      return el("div", { class: "case-popup", "data-id": id }, [
        el("h3", { text: typeName(p) }), dl, el("p", {}, [link]),
      ]);
    };
  }

  /* --- the list of the cases in view -------------------------------------------------------- */
  var list = $("case-list"), head = $("view-head"), more = $("list-more");
  function dueKey(e) {
    var d = e.f.properties.due_at;
    return d ? Date.parse(d) : Infinity;
  }
  function item(e) {
    var p = e.f.properties;
    var btn = el("button", { type: "button", class: "case-item" + (e.late ? " late" : "") }, [
      el("span", { class: "chip st-" + token(p.status), "aria-hidden": "true" }),
      el("span", { class: "ci-main" }, [
        el("span", { class: "ci-type", text: typeName(p) }),
        el("span", { class: "ci-meta", text: [cfg.statuses[p.status] || p.status, handlerName(p),
          placeOf(p)].filter(Boolean).join(" · ") }),
        el("span", { class: "ci-due" + (e.late ? " warn" : ""), text: t("due") + "：" + dueText(e) }),
      ]),
    ]);
    var data = { "data-id": idOf(e.f), "data-status": p.status, "data-agency": p.agency };
    return el("li", data, [btn]);
  }
  function renderList() {
    var b = map.getBounds(), rows = [];
    cases.forEach(function (e) { if (e.shown && b.contains(e.m.getLatLng())) rows.push(e); });
    rows.sort(function (a, z) { return dueKey(a) - dueKey(z) || idOf(a.f) - idOf(z.f); });
    head.textContent = rows.length ? t("in_view", { n: rows.length }) : t("none_in_view");
    var frag = document.createDocumentFragment();
    rows.slice(0, LIST_MAX).forEach(function (e) { frag.appendChild(item(e)); });
    S.clear(list).appendChild(frag);
    list.setAttribute("data-count", String(rows.length));
    more.textContent = t("list_more", { n: LIST_MAX });
    more.hidden = rows.length <= LIST_MAX;
  }
  list.addEventListener("click", function (ev) {
    var li = ev.target.closest("li[data-id]");
    var e = li && cases.get(Number(li.getAttribute("data-id")));
    if (!e || !e.shown) return;
    if (!map.hasLayer(cluster)) map.addLayer(cluster);
    cluster.zoomToShowLayer(e.m, function () { e.m.openPopup(); });
  });
  map.on("moveend", function () { whenIdle(renderList); });

  /* --- live ---------------------------------------------------------------------------------- */
  var live = $("live"), liveText = $("live-text");
  function setLive(state, text) {
    live.className = "live " + state;
    live.setAttribute("data-count", String(cases.size));
    S.clear(liveText).appendChild(document.createTextNode(text));
  }
  function sessionLost() {
    setLive("lost", t("session_lost") + " ");
    liveText.appendChild(el("a", { href: cfg.loginUrl, text: "→" }));
  }
  function liveOk(truncated) {
    var when = fmtTime(new Date().toISOString()).slice(11);
    setLive("ok", t("live") + " · " + t("loaded", { n: cases.size }) + " · " + when +
      (truncated ? " · " + t("truncated", { n: cases.size }) : ""));
  }
  var truncated = false, polls = 0;
  function load() {
    setLive("loading", t("loading"));
    S.getJSON(cfg.feed).then(function (r) {
      if (r.status === 401) return sessionLost();
      if (!r.ok) {
        setLive("lost", S.errorText(r.data));
        return setTimeout(load, cfg.pollMs);
      }
      since = r.data.now;
      truncated = !!r.data.truncated;
      apply(r.data.features || []);
      whenIdle(function () { renderList(); liveOk(truncated); });
      setTimeout(poll, cfg.pollMs);
    });
  }
  function poll() {
    S.getJSON(cfg.feed, { since: since }).then(function (r) {
      if (r.status === 401) return sessionLost();
      if (!r.ok) {
        setLive("lost", t("live_lost"));
        return setTimeout(poll, cfg.pollMs);
      }
      whenIdle(function () {
        since = r.data.now || since;
        polls++;
        if (apply(r.data.features || [])) whenIdle(renderList);
        if (polls % 30 === 0) refreshLate();
        liveOk(truncated);
        setTimeout(poll, cfg.pollMs);
      });
    });
  }

  /* --- layers -------------------------------------------------------------------------------- */
  var STYLES = {
    town: { color: "#3d5a80", weight: 2.5, opacity: 0.9, fillOpacity: 0.02 },
    community: { color: "#5f7387", weight: 1.2, opacity: 0.8, dashArray: "4 4", fillOpacity: 0.02 },
    property_area: { color: "#2b8a3e", weight: 1, opacity: 0.8, fillOpacity: 0.05 },
    agency_unit: { color: "#a61e4d", weight: 1.5, opacity: 0.8, dashArray: "8 4", fillOpacity: 0.02 },
  };
  function toLatLng(c) { return L.latLng(S.onMap({ lon: c[0], lat: c[1], crs: "wgs84" })); }
  var small = window.innerWidth < 768;
  var control = L.control.layers(null, null, { collapsed: small }).addTo(map);
  control.addOverlay(cluster, t("cases"));
  var overlays = {};
  (cfg.overlays || []).forEach(function (o) {
    var style = Object.assign({ className: "area area-" + token(o.kind) }, STYLES[o.kind] || {});
    var layer = L.geoJSON(null, {
      coordsToLatLng: toLatLng,
      style: function () { return style; },
      onEachFeature: function (f, lyr) {
        var pr = f.properties || {}, name = pr.name || pr.code;
        if (o.kind === "community" && pr.code) communityNames[pr.code] = pr.name;
        if (!name) return;
        if (o.kind === "town") {
          lyr.bindTooltip(name, { permanent: true, direction: "center", className: "area-label" });
        } else {
          lyr.bindTooltip(name, { sticky: true, className: "area-tip" });
        }
      },
    });
    function fetchOnce() {
      if (layer.state) return;
      layer.state = "loading";
      S.getJSON(o.url).then(function (r) {
        if (!r.ok) { layer.state = null; return; }
        layer.addData(r.data);
        layer.state = "loaded";
        if (map.hasLayer(layer)) layer.bringToBack();
        if (o.kind === "community") whenIdle(renderList); // places name their community
      });
    }
    layer.on("add", fetchOnce);
    overlays[o.key] = layer;
    control.addOverlay(layer, o.label);
    if (o.on) map.addLayer(layer);
    else if (o.kind === "community") fetchOnce(); // for the names, drawn only when switched on
  });

  var heat = null;
  if (L.heatLayer) {
    heat = L.heatLayer([], { radius: 22, blur: 18, minOpacity: 0.3, max: 3 });
    control.addOverlay(heat, t("heat"));
    heat.on("add", function () {
      S.getJSON(cfg.heatUrl).then(function (r) {
        if (r.ok && map.hasLayer(heat)) heat.setLatLngs(r.data.points || []);
      });
    });
  }

  /* --- start --------------------------------------------------------------------------------- */
  var sheet = $("sheet");
  if (cfg.extent) {
    var r = sheet.getBoundingClientRect();
    var side = r.left > 1 ? [r.right, 0] : [0, 0];
    var below = r.left <= 1 ? [0, window.innerHeight - r.top] : [0, 0];
    map.fitBounds(cfg.extent, { paddingTopLeft: side, paddingBottomRight: below, animate: false });
  }
  S.dispatch = {
    cluster: cluster,
    overlays: overlays,
    heat: heat,
    count: function () { return cases.size; },
    shown: function () {
      var n = 0;
      cases.forEach(function (e) { if (e.shown) n++; });
      return n;
    },
    has: function (id) { return cases.has(id); },
    marker: function (id) { var e = cases.get(id); return e ? e.m : null; },
    polls: function () { return polls; },
  };
  load();
})();
