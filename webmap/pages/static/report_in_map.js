/* 吹哨报到 on the dispatch map: every cfg.pollMs, the open joint cases whose called units are
   overdue or late in reporting in (GET cfg.reportInLate), and those whose units are past their
   completion deadline (GET cfg.jointOverdue), get a badge in the side lists and a mark on the
   map, live. */
(function () {
  "use strict";
  var S = window.Shudi, cfg = S.cfg, t = S.t, map = S.map;
  if (!cfg.reportInLate || !map) return;
  var feeds = [
    { url: cfg.reportInLate, cls: "ri-badge", mark: "ri-mark", testid: "report-in-late",
      attr: "data-report-in-late", text: "ri_badge", late: {} },
  ];
  if (cfg.jointOverdue) {
    feeds.push({ url: cfg.jointOverdue, cls: "jo-badge", mark: "jo-mark", testid: "joint-overdue",
      attr: "data-joint-overdue", text: "ri_overdue_badge", late: {} });
  }

  function badge(feed, li) {
    var id = li.getAttribute("data-case-id"), old = li.querySelector("." + feed.cls);
    if (!feed.late[id]) { if (old) old.remove(); li.removeAttribute(feed.attr); return; }
    li.setAttribute(feed.attr, "true");
    var text = t(feed.text) + "：" + feed.late[id].join("、");
    if (old) { old.textContent = text; return; }
    var main = li.querySelector(".ci-main") || li;
    main.appendChild(S.el("span", { class: "badge late " + feed.cls, "data-testid": feed.testid,
      text: text }));
  }
  function decorate() {
    document.querySelectorAll("li[data-case-id]").forEach(function (li) {
      feeds.forEach(function (feed) { badge(feed, li); });
    });
  }
  ["case-list", "new-list"].forEach(function (id) {
    var list = document.getElementById(id);
    if (list) new MutationObserver(function (changes) {
      if (changes.some(function (c) { return c.addedNodes.length; })) decorate();
    }).observe(list, { childList: true });
  });

  function poll(feed) {
    feed.layer = feed.layer || L.layerGroup().addTo(map);
    S.getJSON(feed.url).then(function (r) {
      if (!r.ok) return;
      feed.late = {};
      feed.layer.clearLayers();
      r.data.forEach(function (c) {
        var id = String(c.case_id), first = !feed.late[id];
        (feed.late[id] = feed.late[id] || []).push(c.unit_name || c.party);
        if (!first) return;
        var ll = S.onMap({ lon: c.lon, lat: c.lat, crs: "wgs84" });
        feed.layer.addLayer(L.marker(ll, {
          keyboard: false, interactive: false, zIndexOffset: 1000,
          icon: L.divIcon({ className: feed.mark, html: "<b>!</b>", iconSize: [18, 18],
            iconAnchor: feed.mark === "ri-mark" ? [-2, 26] : [20, 26] }),
        }));
      });
      decorate();
    });
  }
  function pollAll() { feeds.forEach(poll); }
  pollAll();
  setInterval(pollAll, cfg.pollMs || 30000);
})();
