// Peer groups in the assessment admin: add and remove group rows (a name and its unit types). Each row's
// inputs carry its index (peer_groups-<i>-name, peer_groups-<i>-types); a new row takes the next free index.
(function () {
  "use strict";

  function clear(row) {
    row.querySelectorAll('input[type="text"]').forEach(function (input) { input.value = ""; });
    row.querySelectorAll('input[type="checkbox"]').forEach(function (input) { input.checked = false; });
    row.querySelectorAll(".is-invalid").forEach(function (el) { el.classList.remove("is-invalid"); });
    row.querySelectorAll(".invalid-feedback").forEach(function (el) { el.parentNode.removeChild(el); });
  }

  function add(container) {
    var rows = container.querySelectorAll("[data-peer-row]");
    if (!rows.length) { return; }
    var name = container.getAttribute("data-peer-groups");
    var next = 0;
    rows.forEach(function (row) { next = Math.max(next, Number(row.getAttribute("data-peer-row")) + 1); });
    var fresh = rows[rows.length - 1].cloneNode(true);
    var from = new RegExp("^" + name + "-\\d+-");
    fresh.setAttribute("data-peer-row", String(next));
    fresh.querySelectorAll("[name], [id], label[for]").forEach(function (el) {
      ["name", "id", "for"].forEach(function (attr) {
        var value = el.getAttribute(attr);
        if (value) { el.setAttribute(attr, value.replace(from, name + "-" + next + "-")); }
      });
    });
    clear(fresh);
    container.appendChild(fresh);
    fresh.querySelector('input[type="text"]').focus();
  }

  document.addEventListener("click", function (event) {
    var adder = event.target.closest("[data-peer-group-add]");
    if (adder) {
      var container = document.querySelector('[data-peer-groups="' + adder.getAttribute("data-peer-group-add") + '"]');
      if (container) { add(container); }
      return;
    }
    var remover = event.target.closest("[data-peer-group-remove]");
    if (!remover) { return; }
    var row = remover.closest("[data-peer-row]");
    if (row.parentNode.querySelectorAll("[data-peer-row]").length > 1) {
      row.parentNode.removeChild(row);
    } else {
      clear(row);
    }
  });
})();
