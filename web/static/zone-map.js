/* The admin's zone map: grids, zones and any extra layers (permits) on Leaflet; editors draw a zone with
   Leaflet.draw, fill in its kind and name, and save it. Every layer arrives in the tiles' datum and the server
   turns drawn shapes back into WGS-84, so this script never converts coordinates. */
(function () {
  "use strict";
  var el = document.getElementById("zone-map");
  if (!el || !window.L) { return; }
  var layers = JSON.parse(el.dataset.layers);
  var words = JSON.parse(el.dataset.messages);
  var editable = el.dataset.editable === "1";
  var csrfInput = document.querySelector("#zone-form input[name=csrf_token]");
  var colours = { restricted_business: "#d9534f", strict_street: "#f0ad4e", school_surroundings: "#17a2b8",
                  residential: "#28a745" };

  L.Icon.Default.imagePath = el.dataset.leafletImages;
  var map = L.map(el);
  el.leafletMap = map;  // for scripts (and browser tests) that place points by coordinates
  if (el.dataset.tiles) {
    L.tileLayer(el.dataset.tiles, { subdomains: "01234567", maxZoom: 18,
                                    attribution: el.dataset.attribution || "" }).addTo(map);
  }
  var grids = L.geoJSON(layers.grids, {
    style: { color: "#6c757d", weight: 1, dashArray: "4 4", fill: false, interactive: false },
    onEachFeature: function (f, layer) {
      layer.bindTooltip(f.properties.code + " " + f.properties.name,
                        { permanent: true, direction: "center", className: "zone-label" });
    }
  }).addTo(map);
  var drawn = new L.FeatureGroup().addTo(map);
  var halos = L.layerGroup().addTo(map);
  var byId = {};

  function style(p) {
    return { color: colours[p.kind] || "#343a40", weight: p.kind === "strict_street" ? 5 : 2,
             dashArray: p.active ? null : "6 4", fillOpacity: 0.15 };
  }
  function halo(f) {
    var p = f.properties, reach = p.kind === "school_surroundings" ? p.buffer_metres : 0;
    if (!reach) { return; }
    L.geoJSON(f, { pointToLayer: function (_f, latlng) {
      return L.circle(latlng, { radius: reach, color: colours[p.kind], weight: 1, fillOpacity: 0.1, interactive: false });
    } }).eachLayer(function (layer) { halos.addLayer(layer); });
  }
  layers.zones.features.forEach(function (f) {
    L.geoJSON(f, { style: function () { return style(f.properties); } }).eachLayer(function (layer) {
      layer.zone = f.properties;
      layer.bindTooltip(f.properties.name + " · " + f.properties.kind_name);
      layer.on("click", function () { select(layer); });
      drawn.addLayer(layer);
      byId[f.properties.id] = layer;
    });
    halo(f);
  });
  var overlays = {};
  overlays[words.grids] = grids;
  overlays[words.zones] = drawn;
  /* An extra layer's feature may bring its popup as lines of text; one that does not count (a permit from the
     wrong approving unit) is drawn dashed in red, or as a faded marker. */
  function popup(lines) {
    var box = document.createElement("div");
    box.className = "map-popup";
    lines.forEach(function (line) {
      var p = document.createElement("p");
      p.textContent = line;
      box.appendChild(p);
    });
    return box;
  }
  (layers.extra || []).forEach(function (extra) {
    overlays[extra.name] = L.geoJSON(extra.features, {
      style: function (f) {
        return f.properties.counts === false ? { color: "#c0392b", weight: 2, dashArray: "6 4" }
                                             : { color: "#6f42c1", weight: 2 };
      },
      pointToLayer: function (f, latlng) {
        return L.marker(latlng, f.properties.counts === false ? { opacity: 0.55 } : {});
      },
      onEachFeature: function (f, layer) {
        if (f.properties.popup) { layer.bindPopup(popup(f.properties.popup)); }
      }
    }).addTo(map);
  });
  L.control.layers(null, overlays).addTo(map);
  var bounds = L.latLngBounds([]);
  [grids, drawn].forEach(function (group) { if (group.getLayers().length) { bounds.extend(group.getBounds()); } });
  if (bounds.isValid()) { map.fitBounds(bounds, { padding: [12, 12] }); } else { map.setView([35, 105], 4); }

  if (!editable) { return; }
  var form = document.getElementById("zone-form");
  var field = function (name) { return form.querySelector("[name=" + name + "]"); };
  var status = document.getElementById("zone-status");
  var current = null;

  function showKind() {
    var kind = field("kind").value;
    form.querySelectorAll("[data-for-kind]").forEach(function (group) {
      group.hidden = group.dataset.forKind !== kind;
    });
  }
  function showShape() {
    var shown = document.getElementById("zone-geometry");
    shown.textContent = current ? words.drawn + ": " + current.layer.toGeoJSON().geometry.type : words.nothing_drawn;
  }
  function clearProblems() {
    form.querySelectorAll("[data-problem]").forEach(function (box) { box.textContent = ""; });
    form.querySelectorAll(".is-invalid").forEach(function (input) { input.classList.remove("is-invalid"); });
  }
  function select(layer) {
    if (current && !current.id) { drawn.removeLayer(current.layer); }
    var p = layer.zone;
    current = { layer: layer, id: p.id };
    document.getElementById("zone-id").value = p.id;
    field("kind").value = p.kind;
    field("name").value = p.name;
    field("width_metres").value = p.width_metres || "";
    field("buffer_metres").value = p.kind === "school_surroundings" ? p.buffer_metres : "";
    field("campaign_id").value = p.campaign_id || "";
    clearProblems();
    showKind();
    showShape();
  }
  function fresh() {
    if (current && !current.id) { drawn.removeLayer(current.layer); }
    current = null;
    form.reset();
    document.getElementById("zone-id").value = "";
    clearProblems();
    showKind();
    showShape();
  }
  function post(url, body) {
    return fetch(url, { method: "POST", credentials: "same-origin",
                        headers: { "Content-Type": "application/json", "X-CSRFToken": csrfInput.value },
                        body: JSON.stringify(body || {}) });
  }

  map.addControl(new L.Control.Draw({
    edit: { featureGroup: drawn, remove: false },
    draw: { polygon: { allowIntersection: true, showArea: false }, polyline: { showLength: false },
            rectangle: { showArea: false }, marker: true, circle: false, circlemarker: false }
  }));
  map.on(L.Draw.Event.CREATED, function (e) {
    if (current && !current.id) { drawn.removeLayer(current.layer); }
    drawn.addLayer(e.layer);
    current = { layer: e.layer, id: null };
    document.getElementById("zone-id").value = "";
    if (e.layerType === "marker" && !field("kind").value) { field("kind").value = "school_surroundings"; }
    if (e.layerType === "polyline" && !field("kind").value) { field("kind").value = "strict_street"; }
    showKind();
    showShape();
  });
  map.on(L.Draw.Event.EDITED, function (e) {
    e.layers.eachLayer(function (layer) {
      if (layer.zone && (!current || current.layer !== layer)) { select(layer); }
    });
    showShape();
  });
  field("kind").addEventListener("change", showKind);
  document.getElementById("zone-new").addEventListener("click", fresh);
  document.getElementById("zone-save").addEventListener("click", function () {
    clearProblems();
    status.textContent = words.saving;
    var body = { id: document.getElementById("zone-id").value || null, kind: field("kind").value,
                 name: field("name").value, width_metres: field("width_metres").value,
                 buffer_metres: field("buffer_metres").value, campaign_id: field("campaign_id").value,
                 geometry: current ? current.layer.toGeoJSON().geometry : null };
    post(el.dataset.saveUrl, body).then(function (response) {
      return response.json().then(function (answer) { return { ok: response.ok, answer: answer }; });
    }).then(function (result) {
      if (result.ok) { status.textContent = words.saved; window.location.reload(); return; }
      status.textContent = words.not_saved;
      (result.answer.problems || []).forEach(function (problem) {
        var box = form.querySelector("[data-problem=" + problem.field + "]") || status;
        box.textContent = (box === status ? status.textContent + " " : "") + problem.message;
        var input = field(problem.field);
        if (input) { input.classList.add("is-invalid"); }
      });
    }).catch(function () { status.textContent = words.failed; });
  });
  document.querySelectorAll(".zone-edit").forEach(function (button) {
    button.addEventListener("click", function () {
      var layer = byId[button.dataset.zone];
      if (!layer) { return; }
      select(layer);
      if (layer.getBounds) { map.fitBounds(layer.getBounds()); } else { map.setView(layer.getLatLng(), 16); }
    });
  });
  document.querySelectorAll(".zone-action").forEach(function (button) {
    button.addEventListener("click", function () {
      if (button.dataset.action === "delete" && !window.confirm(words.confirm_delete)) { return; }
      post(el.dataset.actionUrl + button.dataset.zone + "/" + button.dataset.action).then(function (response) {
        if (response.ok) { window.location.reload(); } else { status.textContent = words.failed; }
      }).catch(function () { status.textContent = words.failed; });
    });
  });
  showKind();
})();
