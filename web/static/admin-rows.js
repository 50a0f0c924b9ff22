// Rows in admin forms: ↑/↓ on Flask-Admin inline rows that have a hidden position (timeline steps, duty
// items), rewriting the positions, and add/remove on small row tables (a campaign's office hours).
(function () {
  "use strict";

  function inlineRows(list) {
    return Array.prototype.filter.call(list.children, function (el) { return el.classList.contains("inline-field"); });
  }

  function renumber(list) {
    inlineRows(list).forEach(function (row, index) {
      var input = row.querySelector('input[name="' + row.id + '-position"]');
      if (input) { input.value = String(index); }
      var label = row.querySelector(":scope > legend small");
      if (label && label.firstChild && label.firstChild.nodeType === 3) {
        label.firstChild.nodeValue = label.firstChild.nodeValue.replace(/#\d+/, "#" + (index + 1));
      }
    });
  }

  function button(label, title, attr) {
    var b = document.createElement("button");
    b.type = "button";
    b.className = "btn btn-sm btn-outline-secondary ml-1";
    b.textContent = label;
    b.title = title;
    b.setAttribute("aria-label", title);
    b.setAttribute(attr, "");
    return b;
  }

  function decorate(row) {
    if (row.querySelector(":scope > legend [data-admin-row-up]")) { return; }
    var position = row.querySelector('input[name="' + row.id + '-position"]');
    if (!position) { return; }  // unordered rows (tier members)
    var place = row.querySelector(":scope > legend .pull-right") || row.querySelector(":scope > legend");
    if (!place) { return; }
    place.appendChild(button("↑", position.getAttribute("data-move-up") || "", "data-admin-row-up"));
    place.appendChild(button("↓", position.getAttribute("data-move-down") || "", "data-admin-row-down"));
  }

  function positionOf(row) {
    var input = row.querySelector('input[name="' + row.id + '-position"]');
    var value = input && input.value !== "" ? Number(input.value) : NaN;
    return isNaN(value) ? Infinity : value;
  }

  function watch(list) {
    // A form sent back with errors lists rows by index: show them in the order their positions say.
    inlineRows(list).map(function (row, index) { return [positionOf(row), index, row]; })
      .sort(function (a, b) { return a[0] - b[0] || a[1] - b[1]; })
      .forEach(function (entry) { list.appendChild(entry[2]); });
    inlineRows(list).forEach(decorate);
    renumber(list);
    new MutationObserver(function () {
      inlineRows(list).forEach(decorate);
      renumber(list);
    }).observe(list, { childList: true });
  }

  function move(item, up) {
    var sibling = up ? item.previousElementSibling : item.nextElementSibling;
    while (sibling && !sibling.matches(item.tagName.toLowerCase() + (item.classList.contains("inline-field") ? ".inline-field" : ""))) {
      sibling = up ? sibling.previousElementSibling : sibling.nextElementSibling;
    }
    if (!sibling) { return; }
    item.parentNode.insertBefore(item, up ? sibling : sibling.nextElementSibling);
  }

  document.addEventListener("click", function (event) {
    var target = event.target.closest("[data-admin-row-up], [data-admin-row-down], [data-admin-row-remove], [data-admin-rows-add]");
    if (!target) { return; }
    var up = target.hasAttribute("data-admin-row-up");
    if (target.hasAttribute("data-admin-rows-add")) {
      var table = document.querySelector('table[data-admin-rows="' + target.getAttribute("data-admin-rows-add") + '"]');
      var body = table && table.tBodies[0];
      if (!body || !body.rows.length) { return; }
      var fresh = body.rows[body.rows.length - 1].cloneNode(true);
      fresh.querySelectorAll("input").forEach(function (input) { input.value = ""; });
      body.appendChild(fresh);
      fresh.querySelector("input").focus();
      return;
    }
    var tableRow = target.closest("table[data-admin-rows] tr");
    if (tableRow) {
      if (target.hasAttribute("data-admin-row-remove")) {
        if (tableRow.parentNode.rows.length > 1) {
          tableRow.parentNode.removeChild(tableRow);
        } else {
          tableRow.querySelectorAll("input").forEach(function (input) { input.value = ""; });
        }
      } else {
        move(tableRow, up);
      }
      return;
    }
    var inline = target.closest(".inline-field-list > .inline-field");
    if (inline) {
      move(inline, up);
      renumber(inline.parentNode);
    }
  });

  document.addEventListener("submit", function (event) {
    event.target.querySelectorAll(".inline-field-list").forEach(renumber);
  }, true);

  document.querySelectorAll(".inline-field-list").forEach(watch);
})();
