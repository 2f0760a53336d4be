/* Place search: one box that finds estates, communities, towns, roads, addresses and POIs by
   name, part of a name, pinyin or pinyin initials (GET /api/v1/places), best first.

   Self-contained: every element with [data-place-search] becomes an ARIA combobox (type, then
   ↑/↓ and Enter, or tap a result). Picking a place
     - on a map page (a Folium map on the page) moves the map there and marks it;
     - elsewhere follows the box's data-place-href template ({lon}, {lat}, {zoom}, {code});
     - always dispatches a "shudi:place" event on the box (bubbling) whose detail is
       {feature, lon, lat} (WGS-84), for the page to use (e.g. to drop its pin there).
   A page opened with #place=LON,LAT,ZOOM (WGS-84) starts there.
   Results are put into the page with textContent only. */
(function () {
  "use strict";
  var EN = (document.documentElement.lang || "").indexOf("en") === 0;
  var T = EN
    ? {
        ph: "Find an estate, community, road or address (pinyin works)",
        label: "Find a place",
        none: "No place found: try another name or its initials",
        error: "Search is not available right now",
        n: "{n} places found",
        kinds: { estate: "Estate", community: "Community", town: "Town/street", road: "Road",
                 address: "Address", poi: "Place" },
      }
    : {
        ph: "搜索小区、道路、门牌，支持拼音首字母",
        label: "搜索地点",
        none: "没有找到该地点，请换个名称或首字母试试",
        error: "暂时无法搜索，请稍后再试",
        n: "找到{n}个地点",
        kinds: { estate: "小区", community: "社区/村", town: "镇/街道", road: "道路",
                 address: "门牌", poi: "地点" },
      };
  var API = "/api/v1/places";
  var DELAY = 120;
  var seq = 0;

  function el(tag, attrs, text) {
    var n = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { n.setAttribute(k, attrs[k]); });
    if (text !== undefined) n.textContent = text;
    return n;
  }
  function config() {
    var node = document.getElementById("shudi-config");
    try { return node ? JSON.parse(node.textContent) : {}; } catch (e) { return {}; }
  }
  function findMap() {
    if (window.shudiMap) return window.shudiMap;
    var div = document.querySelector(".folium-map");
    return div && window[div.id] && window[div.id].setView ? window[div.id] : null;
  }
  /* WGS-84 lon/lat → this map's [lat, lng] (GCJ-02 basemaps are shifted, as common.js). */
  function toMap(lon, lat) {
    var cfg = config();
    if (cfg.crs === "gcj02" && window.Shudi && window.Shudi.wgs84ToGcj02) {
      var g = window.Shudi.wgs84ToGcj02(lon, lat);
      return [g[1], g[0]];
    }
    return [lat, lon];
  }

  var mark = null;
  function moveMap(map, lon, lat, bbox, name) {
    var ll = toMap(lon, lat), zoom = 18;
    if (bbox && (bbox[2] - bbox[0] > 1e-6 || bbox[3] - bbox[1] > 1e-6)) {
      var b = L.latLngBounds(toMap(bbox[0], bbox[1]), toMap(bbox[2], bbox[3]));
      zoom = Math.min(18, Math.max(15, map.getBoundsZoom(b, false, L.point(40, 40))));
    }
    zoom = Math.min(zoom, map.getMaxZoom ? map.getMaxZoom() : 18);
    if (window.Shudi && window.Shudi.reveal) window.Shudi.reveal(ll, zoom);
    else map.setView(ll, zoom, { animate: false });
    if (mark) map.removeLayer(mark);
    mark = L.circleMarker(ll, {
      radius: 12, color: "#b3261e", weight: 3, fill: false, interactive: false,
      className: "place-found",
    }).addTo(map);
    if (name) mark.bindTooltip(name, { permanent: true, direction: "top", offset: [0, -10],
                                       className: "place-found-label" }).openTooltip();
  }

  function fromHash(map) {
    var m = /(?:^#|&)place=(-?[\d.]+),(-?[\d.]+)(?:,(\d+))?/.exec(location.hash || "");
    if (!m || !map) return;
    var ll = toMap(+m[1], +m[2]), zoom = +(m[3] || 17);
    if (window.Shudi && window.Shudi.reveal) window.Shudi.reveal(ll, zoom);
    else map.setView(ll, zoom, { animate: false });
  }

  function mount(box) {
    if (box.getAttribute("data-mounted")) return;
    box.setAttribute("data-mounted", "1");
    var id = "ps" + Math.random().toString(36).slice(2, 8);
    var input = el("input", {
      type: "search", id: id + "-q", role: "combobox", autocomplete: "off",
      "aria-autocomplete": "list", "aria-expanded": "false", "aria-controls": id + "-list",
      "aria-label": T.label, placeholder: box.getAttribute("data-placeholder") || T.ph,
      enterkeyhint: "search", spellcheck: "false", "data-testid": "place-q",
    });
    var list = el("ul", { id: id + "-list", role: "listbox", class: "place-results",
                          "aria-label": T.label, "data-testid": "place-results" });
    var status = el("p", { class: "place-status", role: "status", "aria-live": "polite" });
    list.hidden = true;
    box.appendChild(input);
    box.appendChild(list);
    box.appendChild(status);
    var features = [], active = -1, timer = null;

    function close() {
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }
    function highlight(i) {
      var items = list.children;
      if (!items.length) return;
      active = (i + items.length) % items.length;
      for (var k = 0; k < items.length; k++) {
        items[k].setAttribute("aria-selected", k === active ? "true" : "false");
      }
      input.setAttribute("aria-activedescendant", items[active].id);
      items[active].scrollIntoView({ block: "nearest" });
    }
    function render(found) {
      features = found;
      while (list.firstChild) list.removeChild(list.firstChild);
      found.forEach(function (f, i) {
        var p = f.properties;
        var li = el("li", { id: id + "-o" + i, role: "option", "aria-selected": "false",
                            class: "place-option", "data-kind": p.kind, "data-code": p.code });
        li.appendChild(el("span", { class: "place-kind" }, T.kinds[p.kind] || p.kind));
        li.appendChild(el("span", { class: "place-name" }, p.name));
        if (p.context) li.appendChild(el("span", { class: "place-context" }, p.context));
        li.addEventListener("mousedown", function (e) { e.preventDefault(); });
        li.addEventListener("click", function () { pick(i); });
        list.appendChild(li);
      });
      list.hidden = !found.length;
      input.setAttribute("aria-expanded", found.length ? "true" : "false");
      status.textContent = found.length ? T.n.replace("{n}", found.length) : T.none;
      active = -1;
    }
    function pick(i) {
      var f = features[i];
      if (!f) return;
      var lon = f.geometry.coordinates[0], lat = f.geometry.coordinates[1];
      input.value = f.properties.name;
      close();
      status.textContent = "";
      var map = findMap();
      if (map) moveMap(map, lon, lat, f.bbox, f.properties.name);
      box.dispatchEvent(new CustomEvent("shudi:place", {
        bubbles: true, detail: { feature: f, lon: lon, lat: lat },
      }));
      var href = box.getAttribute("data-place-href");
      if (!map && href) {
        location.href = href.replace("{lon}", lon).replace("{lat}", lat)
          .replace("{zoom}", "17").replace("{code}", encodeURIComponent(f.properties.code));
      }
    }
    function query() {
      var q = input.value.trim();
      var mine = ++seq;
      if (!q) { render([]); status.textContent = ""; close(); return; }
      var limit = box.getAttribute("data-limit") || "8";
      fetch(API + "?" + new URLSearchParams({ q: q, limit: limit }), {
        headers: { Accept: "application/geo+json" },
      }).then(function (r) {
        if (!r.ok) throw new Error(r.status);
        return r.json();
      }).then(function (fc) {
        if (mine === seq) render(fc.features || []);
      }).catch(function () {
        if (mine === seq) { render([]); status.textContent = T.error; }
      });
    }
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(query, DELAY);
    });
    input.addEventListener("keydown", function (e) {
      if (e.key === "ArrowDown") { e.preventDefault(); if (list.hidden && features.length) render(features); highlight(active + 1); }
      else if (e.key === "ArrowUp") { e.preventDefault(); highlight(active - 1); }
      else if (e.key === "Enter") {
        e.preventDefault();
        if (timer && features.length === 0) { clearTimeout(timer); query(); return; }
        pick(active >= 0 ? active : 0);
      } else if (e.key === "Escape") { close(); }
    });
    input.addEventListener("blur", function () { setTimeout(close, 150); });
    input.addEventListener("focus", function () { if (features.length) render(features); });
  }

  function init() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-place-search]"), mount);
    fromHash(findMap());
  }
  window.ShudiPlaces = { mount: mount };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
