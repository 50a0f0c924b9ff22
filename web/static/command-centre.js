/* The command centre: grids coloured by their open and overdue tasks, hotspots, inspection points by today's
   readiness and the overdue board, redrawn from the server's aggregated state every few seconds without a reload.
   The server counts and groups everything; this script only draws what it is given. */
(function () {
  "use strict";
  var root = document.getElementById("command");
  if (!root || !window.L) { return; }
  var words = JSON.parse(root.dataset.words);
  var shapes = JSON.parse(root.dataset.shapes);
  var pollMs = parseInt(root.dataset.pollMs, 10) || 4000;
  var form = document.getElementById("command-filters");
  var stateColours = { missed: "#b00020", failed: "#e65100", pending: "#f9a825", checked: "#2e7d32",
                       closed: "#78909c" };
  var counts = {};
  var timer = null;
  var asked = 0;  // the latest request: an older answer arriving late neither draws nor schedules a poll

  L.Icon.Default.imagePath = root.dataset.leafletImages;
  var el = document.getElementById("command-map");
  var map = L.map(el);
  el.leafletMap = map;
  if (root.dataset.tiles) {
    L.tileLayer(root.dataset.tiles, { subdomains: "01234567", maxZoom: 18,
                                      attribution: root.dataset.attribution || "" }).addTo(map);
  }

  function esc(value) {  // tooltips are HTML: names typed by people are shown as text
    return String(value).replace(/[&<>"']/g, function (ch) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[ch];
    });
  }
  function gridStyle(feature) {
    var c = counts[feature.properties.id] || { open: 0, overdue: 0 };
    var fill = c.overdue > 0 ? "#d32f2f" : (c.open > 0 ? "#f9a825" : "#90a4ae");
    var opacity = c.overdue > 0 ? Math.min(0.25 + c.overdue / 20, 0.7) : (c.open > 0 ? 0.25 : 0.08);
    return { color: "#455a64", weight: 1, fillColor: fill, fillOpacity: opacity };
  }
  function people(g) {  // who answers for a grid (责任区域): name, duty and phone as the server may show it
    if (!g || !g.people || !g.people.length) { return words.nobody_named; }
    return g.people.map(function (p) {
      return p.name + " (" + p.duty + (p.phone ? ", " + p.phone : "") + ")";
    }).join("; ");
  }
  function label(p) {
    var c = counts[p.id] || { open: 0, overdue: 0 };
    return "<span title=\"" + esc(p.name) + "\">" + esc(p.code) + "</span><span class=\"counts\"><br>" +
      c.open + " " + words.open + " · " + c.overdue + " " + words.overdue + "</span>";
  }
  var grids = L.geoJSON(shapes, {
    style: gridStyle,
    onEachFeature: function (f, layer) {
      layer.bindTooltip(label(f.properties), { permanent: true, direction: "center", className: "grid-count" });
      layer.bindPopup(function () {
        return "<strong>" + esc(f.properties.code + " " + f.properties.name) + "</strong><br>" +
          esc(people(counts[f.properties.id]));
      });
    }
  }).addTo(map);
  var hotspots = L.layerGroup().addTo(map);
  var points = L.layerGroup().addTo(map);
  var overlays = {};
  overlays[words.grids] = grids;
  overlays[words.hotspots] = hotspots;
  overlays[words.points] = points;
  L.control.layers(null, overlays).addTo(map);
  if (grids.getLayers().length) { map.fitBounds(grids.getBounds(), { padding: [12, 12] }); }
  else { map.setView([35, 105], 4); }

  function text(tag, value, cls) {
    var node = document.createElement(tag);
    node.textContent = value;
    if (cls) { node.className = cls; }
    return node;
  }
  function drawGrids(state) {
    counts = {};
    state.grids.forEach(function (g) { counts[g.id] = g; });
    grids.eachLayer(function (layer) {
      layer.setStyle(gridStyle(layer.feature));
      layer.setTooltipContent(label(layer.feature.properties));
    });
    var body = document.querySelector("#grid-table tbody");
    body.replaceChildren();
    state.grids.forEach(function (g) {
      var row = document.createElement("tr");
      row.dataset.grid = g.code;
      row.appendChild(text("td", g.code + " " + g.name));
      row.appendChild(text("td", people(g), "people"));
      row.appendChild(text("td", String(g.open), "open"));
      row.appendChild(text("td", String(g.overdue), g.overdue ? "overdue late" : "overdue"));
      body.appendChild(row);
    });
  }
  function drawBoard(board) {
    var table = document.getElementById("overdue-board");
    var head = table.tHead, body = table.tBodies[0];
    head.replaceChildren();
    body.replaceChildren();
    document.getElementById("board-empty").hidden = board.rows.length > 0;
    table.hidden = board.rows.length === 0;
    var top = document.createElement("tr");
    top.appendChild(text("th", words.unit));
    board.tiers.forEach(function (t) { top.appendChild(text("th", t.name)); });
    top.appendChild(text("th", words.total));
    head.appendChild(top);
    board.rows.forEach(function (r) {
      var row = document.createElement("tr");
      row.dataset.unit = r.unit_id;
      row.appendChild(text("td", r.unit));
      board.tiers.forEach(function (t) {
        var cell = text("td", String(r.counts[String(t.level)] || 0));
        cell.dataset.tier = t.level;
        row.appendChild(cell);
      });
      row.appendChild(text("td", String(r.total), "total late"));
      body.appendChild(row);
    });
  }
  function drawHotspots(list) {
    hotspots.clearLayers();
    var box = document.getElementById("hotspots");
    box.replaceChildren();
    if (!list.length) { box.appendChild(text("li", words.no_hotspots, "none")); }
    list.forEach(function (h) {
      var about = h.category + " · " + (h.grid || "") + " · " + h.reports + " " + words.reports;
      box.appendChild(text("li", words.case + " " + h.case_id + " " + about));
      L.circleMarker([h.lat, h.lon], { radius: 6 + Math.min(h.reports, 10), color: "#6a1b9a", weight: 2,
                                       fillOpacity: 0.4 }).bindTooltip(esc(about)).addTo(hotspots);
    });
  }
  function drawPoints(p) {
    points.clearLayers();
    p.items.forEach(function (item) {
      if (p.clustered && item.count > 1) {
        L.marker([item.lat, item.lon], { icon: L.divIcon({ className: "cluster-icon", iconSize: [34, 34],
                                                           html: String(item.count) }) })
          .bindTooltip(esc(Object.keys(item.states).map(function (s) {
            return p.state_names[s] + " " + item.states[s];
          }).join(" · "))).addTo(points);
      } else {
        L.circleMarker([item.lat, item.lon], { radius: 6, color: "#fff", weight: 1, fillOpacity: 0.9,
                                               fillColor: stateColours[item.state] || "#78909c" })
          .bindTooltip(esc((item.name || "") + " · " + (p.state_names[item.state] || item.state))).addTo(points);
      }
    });
    var box = document.getElementById("point-states");
    box.replaceChildren();
    Object.keys(p.counts).forEach(function (s) {
      var chip = text("li", p.state_names[s] + " " + p.counts[s], "state-chip");
      chip.style.background = stateColours[s] || "#78909c";
      chip.dataset.state = s;
      box.appendChild(chip);
    });
  }
  function drawDuty(people) {
    var box = document.getElementById("on-duty");
    box.replaceChildren();
    if (!people.length) { box.appendChild(text("li", words.nobody)); }
    people.forEach(function (p) {
      box.appendChild(text("li", p.name + " · " + p.unit + " · " + words.until + " " + p.until));
    });
  }
  function draw(state) {
    document.getElementById("updated-at").textContent = state.updated_at;
    document.getElementById("updated-at").setAttribute("datetime", state.now);
    document.getElementById("total-open").textContent = state.totals.open;
    document.getElementById("total-overdue").textContent = state.totals.overdue;
    drawGrids(state);
    drawBoard(state.board);
    drawHotspots(state.hotspots);
    drawPoints(state.points);
    drawDuty(state.on_duty);
  }
  function query() {
    var params = new URLSearchParams();
    ["category", "list", "unit"].forEach(function (name) {
      var value = form.elements[name].value;
      if (value) { params.set(name, value); }
    });
    return params;
  }
  function refresh() {
    clearTimeout(timer);
    var mine = ++asked;
    var params = query();
    params.set("zoom", String(map.getZoom()));
    var stale = document.getElementById("stale"), problem = document.getElementById("filter-problem");
    fetch(root.dataset.stateUrl + "?" + params.toString(), { credentials: "same-origin",
                                                             headers: { Accept: "application/json" } })
      .then(function (response) {
        return response.json().then(function (body) { return { ok: response.ok, body: body }; });
      })
      .then(function (result) {
        if (mine !== asked) { return; }
        stale.hidden = true;
        problem.hidden = true;
        if (result.ok) { draw(result.body); return; }
        problem.textContent = (result.body.errors || []).map(function (e) { return e.message; }).join(" ")
          || result.body.title;
        problem.hidden = false;
      })
      .catch(function () { stale.textContent = words.stale; stale.hidden = false; })
      .then(function () { if (mine === asked) { timer = setTimeout(refresh, pollMs); } });
  }
  form.addEventListener("change", function () {
    var params = query();
    history.replaceState(null, "", window.location.pathname + (params.toString() ? "?" + params.toString() : ""));
    refresh();
  });
  map.on("zoomend", refresh);
  refresh();
})();
