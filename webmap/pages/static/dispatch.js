/* /map/dispatch: the open cases live on the map (clustered on a grid), the territories as
   switchable layers, a 30-day heat map, filters and the list of the cases in view.
   The compact feed (cfg.feed: one row per case, no details) is loaded once; then its changes
   are pushed: an EventSource on cfg.stream (server-sent events `cases`, each a feed answer
   whose id is its cursor; a dropped stream reconnects with Last-Event-ID). Without
   EventSource, or when the stream fails twice in a row, the feed is polled every cfg.pollMs
   with since = the previous answer's `now` (the stream is tried again every
   STREAM_RETRY_POLLS polls). Either way the `gone` ids leave the map, every row is put in (or
   replaced) by its id. The side list asks the case API for the view's bbox with the filters,
   by deadline; a popup fetches its case when opened.
   Data from the API reaches the page only through textContent (popups and list are nodes). */
(function () {
  "use strict";
  var S = window.Shudi, cfg = S.cfg, t = S.t, el = S.el, map = S.map;
  if (!map) return;
  var DONE = { resolved: true, closed: true, rejected: true };
  var LIST_MAX = 100; // rows of the side list (the API's page)
  var HOUR = 3600e3;
  var en = cfg.lang === "en";
  function $(id) { return document.getElementById(id); }

  var cases = new Map(); // id → {r: row, x, y: Mercator, late, shown: passes the filters, m}
  var since = null;
  var communityNames = Object.assign({}, cfg.communityNames || {});

  /* --- the feed: one list per column, codes as indexes (incidents/feeds.py map_feed) ------ */
  function decode(data) {
    var c = data.cases || {}, keys = data.keys || {}, n = data.count || 0, out = new Array(n);
    function code(kind, v) { return v === null || v === undefined ? null : keys[kind][v]; }
    for (var i = 0; i < n; i++) {
      out[i] = {
        id: c.id[i], lon: c.lon[i], lat: c.lat[i],
        status: code("status", c.status[i]), agency: code("agency", c.agency[i]),
        type: code("type", c.type[i]), town: code("town", c.town[i]),
        due: c.due[i], overdue: c.overdue[i] === 1, v: c.version[i],
      };
    }
    return out;
  }

  /* --- markers: a grid cluster layer ---------------------------------------------------------
     Every case keeps its Web Mercator position (0..1); on each move the cases passing the
     filters inside the view are counted into square cells of CELL px at the current zoom. A cell
     with one case is drawn as its marker, a fuller one as a cluster (count, overdue count); at
     the highest zoom every case is its own marker. Only what is in view is ever in the DOM, so
     100,000 cases cost one pass over an array per move, not a marker object each. */
  var CELL = 60;
  function token(s) { return String(s || "").replace(/[^A-Za-z0-9_]/g, ""); }
  function escapeHtml(s) {
    return String(s).replace(/[&<>"']/g, function (c) { return "&#" + c.charCodeAt(0) + ";"; });
  }
  var icons = {};
  function iconFor(r, late) {
    var key = r.status + "|" + r.agency + "|" + (late ? 1 : 0);
    if (!icons[key]) {
      var a = cfg.agencies[r.agency] || {};
      icons[key] = L.divIcon({
        className: "case-marker st-" + token(r.status) + (late ? " late" : ""),
        html: "<span>" + escapeHtml(a.mark || "?") + "</span>",
        iconSize: [26, 26], iconAnchor: [13, 13], popupAnchor: [0, -12],
      });
    }
    return icons[key];
  }
  function clusterIcon(n, late) {
    var size = n < 10 ? "small" : n < 100 ? "medium" : "large";
    return L.divIcon({
      html: "<div><span>" + n + "</span></div>" + (late ? '<b class="late-n">' + late + "</b>" : ""),
      className: "marker-cluster marker-cluster-" + size + (late ? " has-late" : ""),
      iconSize: L.point(40, 40),
    });
  }
  var LN2PI = 2 * Math.PI;
  function mercator(ll) { // as Leaflet's EPSG:3857 at zoom 0, divided by 256
    var lat = Math.max(Math.min(ll[0], 85.0511287798), -85.0511287798) * Math.PI / 180;
    return [ll[1] / 360 + 0.5, 0.5 - Math.log(Math.tan(Math.PI / 4 + lat / 2)) / LN2PI];
  }
  var cluster = L.layerGroup().addTo(map); // what is drawn now: cells and single markers
  function markerOf(e) {
    if (!e.m) {
      e.m = L.marker(latLngOf(e.r), { keyboard: false, icon: iconFor(e.r, e.late), id: e.r.id });
      e.m.on("click", function () { openPopup(e); });
    }
    return e.m;
  }
  var drawn = 0, renderTimer = null;
  function render() {
    clearTimeout(renderTimer);
    renderTimer = null;
    cluster.clearLayers();
    drawn = 0;
    if (!map.hasLayer(cluster)) return;
    var z = map.getZoom(), scale = 256 * Math.pow(2, z), every = z >= map.getMaxZoom();
    var px = map.getPixelBounds(), x0 = px.min.x - CELL, y0 = px.min.y - CELL;
    var x1 = px.max.x + CELL, y1 = px.max.y + CELL, cols = Math.ceil((x1 - x0) / CELL) + 1;
    var cells = new Map();
    cases.forEach(function (e) {
      if (!e.shown) return;
      var x = e.x * scale, y = e.y * scale;
      if (x < x0 || x > x1 || y < y0 || y > y1) return;
      var key = every ? e.r.id : Math.floor((y - y0) / CELL) * cols + Math.floor((x - x0) / CELL);
      var c = cells.get(key);
      if (!c) cells.set(key, (c = { n: 0, late: 0, sx: 0, sy: 0, e: e }));
      c.n++;
      c.sx += x;
      c.sy += y;
      if (e.late) c.late++;
    });
    cells.forEach(function (c) {
      drawn++;
      if (c.n === 1) { cluster.addLayer(markerOf(c.e)); return; }
      var at = map.unproject([c.sx / c.n, c.sy / c.n], z);
      var m = L.marker(at, { icon: clusterIcon(c.n, c.late), keyboard: false });
      m.on("click", function () { map.setView(at, Math.min(z + 2, map.getMaxZoom())); });
      cluster.addLayer(m);
    });
  }
  function renderSoon() {
    if (!renderTimer) renderTimer = setTimeout(render, 100);
  }
  map.on("moveend", render);
  cluster.on("add", render);

  /* --- filters: markers here, the list on the server ----------------------------------------- */
  var F = { agency: $("f-agency"), type: $("f-type"), status: $("f-status"), town: $("f-town") };
  var overdueOnly = $("f-overdue");
  function passes(e) {
    var r = e.r;
    return (!F.agency.value || r.agency === F.agency.value) &&
      (!F.type.value || r.type === F.type.value) &&
      (!F.status.value || r.status === F.status.value) &&
      (!F.town.value || r.town === F.town.value) &&
      (!overdueOnly.checked || e.late);
  }
  function refilter() {
    cases.forEach(function (e) { e.shown = passes(e); });
    render();
    loadList();
  }
  var form = $("filters");
  form.addEventListener("change", refilter);
  form.addEventListener("submit", function (ev) { ev.preventDefault(); });
  form.addEventListener("reset", function () { setTimeout(refilter, 0); });

  /* --- cases in, changed, out --------------------------------------------------------------- */
  function latLngOf(r) { return S.onMap({ lon: r.lon, lat: r.lat, crs: "wgs84" }); }
  function isLate(r, now) {
    if (DONE[r.status] || !r.due) return false;
    return r.overdue || r.due * 1000 < now;
  }
  function put(e, r, late) {
    var xy = mercator(latLngOf(r));
    e.r = r;
    e.late = late;
    e.x = xy[0];
    e.y = xy[1];
    e.m = null; // drawn afresh with its new position and icon
    e.shown = passes(e);
  }
  /* Put rows in and take the gone ids out; returns how many cases changed. */
  function apply(rows, gone) {
    var now = Date.now(), changed = 0;
    (gone || []).forEach(function (id) { if (cases.delete(id)) changed++; });
    rows.forEach(function (r) {
      var e = cases.get(r.id);
      if (e && e.r.v === r.v && e.r.status === r.status) return;
      changed++;
      if (!e) cases.set(r.id, (e = {}));
      put(e, r, isLate(r, now));
    });
    return changed;
  }
  /* Deadlines pass without the case changing: redraw the cases that became overdue. */
  function refreshLate() {
    var now = Date.now(), changed = 0;
    cases.forEach(function (e) {
      var late = isLate(e.r, now);
      if (late !== e.late) { put(e, e.r, late); changed++; }
    });
    if (changed) { renderSoon(); loadList(); }
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
  /* A case as the API gives it (GET /api/v1/cases, /api/v1/cases/{id}). */
  function typeName(c) {
    return (en && cfg.types[c.type_code]) || c.type_name || cfg.types[c.type_code] || c.type_code || "";
  }
  function handlerName(c) {
    return c.handler_name || (cfg.agencies[c.handler_party] || {}).name || c.handler_party || "";
  }
  function placeOf(c) {
    var area = [cfg.towns[c.town_code] || c.town_code,
      communityNames[c.community_code] || c.community_code].filter(Boolean).join(" · ");
    return [c.address_text, area].filter(Boolean).join(en ? ", " : "，");
  }
  function lateCase(c) {
    return !DONE[c.status] && !!c.due_at && (!!c.overdue || Date.parse(c.due_at) < Date.now());
  }
  function dueText(c) {
    if (!c.due_at) return t("no_due");
    return fmtTime(c.due_at) + (lateCase(c) ? " · " + t("overdue") : "");
  }

  /* --- the popup: one for the map, its details fetched when opened ---------------------------- */
  var popup = L.popup({ maxWidth: 320, minWidth: 220, offset: [0, -10] });
  function popupNode(c) {
    var dl = el("dl", { class: "facts" });
    function row(label, value, cls) {
      if (!value) return;
      dl.appendChild(el("dt", { text: label }));
      dl.appendChild(el("dd", { text: value, class: cls || null }));
    }
    row(t("status"), cfg.statuses[c.status] || c.status);
    row(t("address"), placeOf(c));
    row(t("age"), age(c.created_at) + (en ? " (" : "（") + fmtTime(c.created_at) + (en ? ")" : "）"));
    row(t("due"), dueText(c), lateCase(c) ? "warn" : null);
    row(t("handler"), handlerName(c));
    var link = el("a", {
      href: cfg.casePage + encodeURIComponent(c.id), target: "_blank", rel: "noopener",
      text: t("open_case") + " #" + c.id,
    });
    return el("div", { class: "case-popup", "data-id": c.id }, [
      el("h3", { text: typeName(c) }), dl, el("p", {}, [link]),
    ]);
  }
  var popupFor = null;
  function openPopup(e) {
    var id = (popupFor = e.r.id);
    popup.setLatLng(latLngOf(e.r)).setContent(el("p", { class: "hint", text: t("loading") }));
    popup.openOn(map);
    S.getJSON(cfg.caseUrl + encodeURIComponent(id)).then(function (r) {
      if (popupFor !== id || !map.hasLayer(popup)) return;
      popup.setContent(r.ok ? popupNode(r.data) : S.errorNode(r.data));
    });
  }

  /* --- the list of the cases in view (server-side: bbox, filters, by deadline) ------------- */
  var list = $("case-list"), head = $("view-head"), more = $("list-more");
  var OPEN = Object.keys(cfg.statuses);
  /* The view as a WGS-84 bbox (on GCJ-02 tiles: one step of the inverse shift, < 1 m off). */
  function viewBox() {
    var b = map.getBounds(), sw = b.getSouthWest(), ne = b.getNorthEast();
    function wgs(ll) {
      if (cfg.crs !== "gcj02") return [ll.lng, ll.lat];
      var g = S.wgs84ToGcj02(ll.lng, ll.lat);
      return [2 * ll.lng - g[0], 2 * ll.lat - g[1]];
    }
    var a = wgs(sw), z = wgs(ne);
    function clamp(v, lo, hi) { return Math.min(hi, Math.max(lo, v)); }
    return [clamp(a[0], -180, 180), clamp(a[1], -90, 90), clamp(z[0], -180, 180),
      clamp(z[1], -90, 90)].map(function (v) { return v.toFixed(6); }).join(",");
  }
  function listQuery() {
    var q = new URLSearchParams({ bbox: viewBox(), limit: String(LIST_MAX) });
    if (F.status.value) q.append("status", F.status.value);
    else OPEN.forEach(function (s) { q.append("status", s); });
    if (F.agency.value) q.set("agency", F.agency.value);
    if (F.type.value) q.set("type", F.type.value);
    if (F.town.value) q.set("town", F.town.value);
    if (overdueOnly.checked) q.set("overdue", "true");
    return q.toString();
  }
  function item(c) {
    var late = lateCase(c);
    var btn = el("button", { type: "button", class: "case-item" + (late ? " late" : "") }, [
      el("span", { class: "chip st-" + token(c.status), "aria-hidden": "true" }),
      el("span", { class: "ci-main" }, [
        el("span", { class: "ci-type", text: typeName(c) }),
        el("span", { class: "ci-meta", text: [cfg.statuses[c.status] || c.status, handlerName(c),
          placeOf(c)].filter(Boolean).join(" · ") }),
        el("span", { class: "ci-due" + (late ? " warn" : ""), text: t("due") + "：" + dueText(c) }),
      ]),
    ]);
    return el("li", {
      "data-testid": "case-row", "data-case-id": c.id, "data-tracking-code": c.tracking_code,
      "data-id": c.id, "data-status": c.status, "data-agency": c.handler_party,
      "data-due": c.due_at || "",
    }, [btn]);
  }
  var listSeq = 0, listTimer = null;
  function loadList() {
    clearTimeout(listTimer);
    listTimer = setTimeout(function () { fetchList(); fetchNew(); }, 150);
  }
  function fetchList() {
    var seq = ++listSeq;
    return S.getJSON(cfg.listUrl + "?" + listQuery()).then(function (r) {
      if (seq !== listSeq) return;
      if (!r.ok) { head.textContent = S.errorText(r.data); return; }
      var rows = r.data.items || [], total = r.data.total || 0;
      var shown = r.data.total_capped ? total + "+" : total; // counted up to a cap
      head.textContent = total ? t("in_view", { n: shown }) : t("none_in_view");
      var frag = document.createDocumentFragment();
      rows.forEach(function (c) { frag.appendChild(item(c)); });
      S.clear(list).appendChild(frag);
      list.setAttribute("data-count", String(total));
      more.textContent = t("list_more", { n: LIST_MAX });
      more.hidden = total <= rows.length;
    });
  }
  /* --- the queue of new reports: the latest first, wherever they are (no bbox) ------------- */
  var newList = $("new-list"), newHead = $("new-head"), seenNew = null;
  function newQuery() {
    var q = new URLSearchParams({ status: "reported", order: "newest", limit: String(cfg.newMax) });
    if (F.agency.value) q.set("agency", F.agency.value);
    if (F.type.value) q.set("type", F.type.value);
    if (F.town.value) q.set("town", F.town.value);
    return q.toString();
  }
  var newSeq = 0;
  function fetchNew() {
    var seq = ++newSeq;
    return S.getJSON(cfg.listUrl + "?" + newQuery()).then(function (r) {
      if (seq !== newSeq || !r.ok) return;
      var rows = r.data.items || [], total = r.data.total || 0;
      var shown = r.data.total_capped ? total + "+" : total;
      newHead.textContent = total ? t("new_n", { n: shown }) : t("new_none");
      var frag = document.createDocumentFragment(), seen = {};
      rows.forEach(function (c) {
        var li = item(c);
        if (seenNew && !seenNew[c.id]) li.classList.add("fresh"); // arrived since the last look
        seen[c.id] = true;
        frag.appendChild(li);
      });
      seenNew = seen;
      S.clear(newList).appendChild(frag);
      newList.setAttribute("data-count", String(total));
    });
  }
  function onRowClick(ev) {
    var li = ev.target.closest("li[data-id]");
    var e = li && cases.get(Number(li.getAttribute("data-id")));
    if (!e || !e.shown) return;
    if (!map.hasLayer(cluster)) map.addLayer(cluster);
    map.setView(latLngOf(e.r), map.getMaxZoom(), { animate: false });
    render();
    openPopup(e);
  }
  list.addEventListener("click", onRowClick);
  newList.addEventListener("click", onRowClick);
  map.on("moveend", function () { if (readyAt !== null) loadList(); });

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
  var mode = "poll"; // how changes come: "stream" (pushed), "connecting" or "poll"
  function liveOk(truncated) {
    var when = fmtTime(new Date().toISOString()).slice(11);
    setLive("ok", t(mode === "stream" ? "live_push" : "live") + " · " +
      t("loaded", { n: cases.size }) + " · " + when +
      (truncated ? " · " + t("truncated", { n: cases.size }) : ""));
    live.setAttribute("data-mode", mode);
  }
  var truncated = false, polls = 0, readyAt = null;
  function load(listed) {
    setLive("loading", t("loading"));
    S.getJSON(cfg.feed).then(function (r) {
      if (r.status === 401) return sessionLost();
      if (!r.ok) {
        setLive("lost", S.errorText(r.data));
        return setTimeout(function () { load(listed); }, cfg.pollMs);
      }
      since = r.data.now;
      truncated = !!r.data.truncated;
      performance.mark("dispatch:feed");
      apply(decode(r.data), r.data.gone);
      render();
      performance.mark("dispatch:drawn");
      liveOk(truncated);
      listed.then(function () {
        performance.mark("dispatch:ready");
        readyAt = performance.now();
      });
      if (canStream) openStream();
      else setTimeout(poll, cfg.pollMs);
    });
  }
  function poll() {
    S.getJSON(cfg.feed, { since: since }).then(function (r) {
      if (r.status === 401) return sessionLost();
      if (!r.ok) {
        setLive("lost", t("live_lost"));
        return setTimeout(poll, cfg.pollMs);
      }
      since = r.data.now || since;
      polls++;
      if (apply(decode(r.data), r.data.gone)) { renderSoon(); loadList(); }
      if (polls % 30 === 0) refreshLate();
      liveOk(truncated);
      if (canStream && polls % STREAM_RETRY_POLLS === 0) openStream();
      else setTimeout(poll, cfg.pollMs);
    });
  }

  /* --- pushed: server-sent events (incidents/live.py) ----------------------------------------
     The browser reconnects a dropped stream by itself, sending the last event's id; a stream
     refused (401, 403: CLOSED at once) or failing twice in a row gives way to polling. */
  var canStream = !!(window.EventSource && cfg.stream);
  var STREAM_RETRY_POLLS = 15, STREAM_MAX_ERRORS = 2, LATE_CHECK_MS = 60e3;
  var source = null, streamErrors = 0, pushes = 0, lateTimer = null;
  function openStream() {
    mode = "connecting";
    source = new EventSource(cfg.stream + "?" + new URLSearchParams({ since: since }));
    source.onopen = function () {
      streamErrors = 0;
      mode = "stream";
      liveOk(truncated);
    };
    source.addEventListener("cases", function (ev) {
      var data = JSON.parse(ev.data);
      since = ev.lastEventId || data.now || since;
      pushes++;
      if (apply(decode(data), data.gone)) { renderSoon(); loadList(); }
      liveOk(truncated);
    });
    source.onerror = function () {
      var closed = source.readyState === EventSource.CLOSED;
      if (!closed && ++streamErrors < STREAM_MAX_ERRORS) {
        mode = "connecting";
        setLive("lost", t("live_lost"));
        return;
      }
      source.close();
      source = null;
      streamErrors = 0;
      mode = "poll";
      poll(); // at once: catches up from the last event, and tells a lost session (401)
    };
    if (!lateTimer) {
      lateTimer = setInterval(function () { if (mode === "stream") refreshLate(); }, LATE_CHECK_MS);
    }
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
  var tiled = S.canTile && S.canTile();
  (cfg.overlays || []).forEach(function (o) {
    var style = Object.assign({ className: "area area-" + token(o.kind) }, STYLES[o.kind] || {});
    if (o.tiles && tiled) {
      /* Vector tiles (/tiles/...mvt): only the tiles in view are fetched, names as a tooltip
         under the pointer; the side list names communities from cfg.communityNames. */
      var vt = S.boundaryTiles(o.tiles, o.collection, Object.assign({ fill: true }, style),
                               { tip: true });
      overlays[o.key] = vt;
      control.addOverlay(vt, o.label);
      if (o.on) map.addLayer(vt);
      return;
    }
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
        if (o.kind === "community" && readyAt !== null) loadList(); // places name communities
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
  /* The whole district (a coordinator's town) beside the panel, or above it on phones. */
  function home() {
    if (!cfg.extent) return;
    var r = sheet.getBoundingClientRect();
    var side = r.left > 1 ? [r.right, 0] : [0, 0];
    var below = r.left <= 1 ? [0, window.innerHeight - r.top] : [0, 0];
    map.fitBounds(cfg.extent, { paddingTopLeft: side, paddingBottomRight: below, animate: false });
  }
  home();
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
    drawn: function () { return drawn; },
    home: home,
    has: function (id) { return cases.has(id); },
    ready: function () { return readyAt; },
    position: function (id) { var e = cases.get(id); return e ? L.latLng(latLngOf(e.r)) : null; },
    polls: function () { return polls; },
    pushes: function () { return pushes; },
    mode: function () { return mode; },
  };
  fetchNew();
  load(fetchList()); // the list of the first view is asked for beside the feed
})();
