// The list editor: a decision table, one row per list item, with a widget per field (category picker,
// hour range, weekend, inspection window, source types, zone, responsible unit, template, timeline, limit,
// points, legal basis, enabled, effective dates). Rows are added, removed and moved; every edit asks the
// server's analysis (overlaps, rows that never match, problems by field) before anything is saved, and
// Save sends all rows at once: the server stores all of them or none and names each fault by row and field.
(function () {
  "use strict";
  var form = document.getElementById("list-editor");
  if (!form) { return; }
  var ref = JSON.parse(form.dataset.ref);
  var M = JSON.parse(form.dataset.messages);
  var rows = JSON.parse(form.dataset.rows);
  var kind = form.dataset.kind;
  var body = document.querySelector("#list-rows tbody");
  var csrf = form.querySelector("input[name=csrf_token]").value;
  var categoryName = {};
  ref.categories.forEach(function (c) { categoryName[c.code] = c.name; });
  var lastAnswer = JSON.parse(form.dataset.analysis || "null");
  var sequence = 0;
  var timer = null;

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      var value = attrs[name];
      if (value === null || value === undefined || value === false) { return; }
      if (name === "text") { node.textContent = value; }
      else if (name === "className") { node.className = value; }
      else if (name.indexOf("data") === 0 && name.length > 4 && name[4] === "-") { node.setAttribute(name, value); }
      else if (value === true) { node.setAttribute(name, ""); }
      else { node.setAttribute(name, value); }
    });
    (children || []).forEach(function (child) {
      if (child) { node.appendChild(typeof child === "string" ? document.createTextNode(child) : child); }
    });
    return node;
  }

  function errorSlot(field) { return el("div", { className: "field-error text-danger small", "data-field": field }); }

  function select(index, field, options, value, extra) {
    var node = el("select", Object.assign({ className: "form-control form-control-sm", name: "rows-" + index + "-" + field }, extra || {}));
    options.forEach(function (o) {
      var option = el("option", { value: o[0], text: o[1] });
      if (String(o[0]) === String(value == null ? "" : value)) { option.selected = true; }
      node.appendChild(option);
    });
    return node;
  }

  function input(index, field, value, extra) {
    var node = el("input", Object.assign({ className: "form-control form-control-sm", name: "rows-" + index + "-" + field }, extra || {}));
    node.value = value == null ? "" : value;
    return node;
  }

  function labelled(text, control) { return el("label", { className: "mini" }, [el("span", { text: text }), control]); }

  function tristate(index, field, value) {
    return select(index, field, [["any", M.any], ["yes", M.yes], ["no", M.no]], value || "any");
  }

  function checkboxes(index, field, options, chosen) {
    return options.map(function (o) {
      var box = el("input", { type: "checkbox", name: "rows-" + index + "-" + field, value: o.code });
      box.checked = chosen.indexOf(o.code) >= 0;
      return el("label", { className: "check" }, [box, " " + o.code + (o.name && o.name !== o.code ? " " + o.name : "")]);
    });
  }

  function categoryPicker(index, row) {
    var chips = el("div", { className: "chips" });
    row.categories.forEach(function (code) {
      var known = Object.prototype.hasOwnProperty.call(categoryName, code);
      chips.appendChild(el("span", { className: "chip badge " + (known ? "badge-info" : "badge-danger"), "data-code": code,
                                     title: known ? categoryName[code] : M.unknown_category }, [
        code + " " + (known ? categoryName[code] : "(" + M.unknown_category + ")") + " ",
        el("button", { type: "button", className: "chip-x", "data-action": "uncategorise", "data-code": code,
                       "aria-label": M.remove + " " + code, text: "×" })]));
    });
    if (!row.categories.length) { chips.appendChild(el("span", { className: "text-muted small", text: M.no_category })); }
    var list = el("div", { className: "cat-list" });
    var parents = ref.categories.filter(function (c) { return !c.parent; });
    parents.forEach(function (parent) {
      var children = ref.categories.filter(function (c) { return c.parent === parent.code; });
      var all = children.length && children.every(function (c) { return row.categories.indexOf(c.code) >= 0; });
      var toggle = el("input", { type: "checkbox", "data-parent": parent.code });
      toggle.checked = !!all;
      list.appendChild(el("div", { className: "cat-group", "data-group": parent.code }, [
        el("label", { className: "check font-weight-bold" }, [toggle, " " + parent.code + " " + parent.name]),
        el("div", { className: "cat-children" }, checkboxes(index, "categories", children, row.categories))]));
    });
    var orphans = ref.categories.filter(function (c) {
      return c.parent && !parents.some(function (p) { return p.code === c.parent; });
    });
    if (orphans.length) { list.appendChild(el("div", { className: "cat-children" }, checkboxes(index, "categories", orphans, row.categories))); }
    var details = el("details", { className: "cat-picker" }, [
      el("summary", { text: M.choose_categories + " (" + row.categories.length + ")" }),
      el("input", { type: "search", className: "form-control form-control-sm cat-filter", placeholder: M.filter,
                    "aria-label": M.filter }),
      list]);
    if (row._open) { details.open = true; }
    if (row._filter) {
      var filter = details.querySelector(".cat-filter");
      filter.value = row._filter;
      filterCategories(filter);
    }
    return [chips, details, errorSlot("categories")];
  }

  // A kept condition as the rule language writes it; a group (any/all/not) shows its members, never "undefined".
  function conditionText(c) {
    if (c.any || c.all) {
      var key = c.any ? "any" : "all";
      return key + "(" + c[key].map(conditionText).join("; ") + ")";
    }
    if (c.not) { return "not(" + conditionText(c.not) + ")"; }
    return c.fact + " " + c.op + " " + JSON.stringify(c.value);
  }

  function conditionWidgets(index, row) {
    var zoneOptions = row.zone_kind === "grid" ? ref.grids.map(function (g) { return { code: g.code, name: g.name }; })
      : ref.unit_types;
    var zone = [labelled(M.zone, select(index, "zone_kind", [["any", M.zone_any], ["grid", M.zone_grid],
                                                           ["unit_type", M.zone_unit_type]], row.zone_kind))];
    if (row.zone_kind !== "any") {
      zone.push(el("div", { className: "zone-values" }, checkboxes(index, "zone_values", zoneOptions, row.zone_values)));
    }
    var kept = (row.conditions || []).map(function (c, i) {
      return el("div", { className: "kept-condition small" }, [
        el("code", { text: conditionText(c) }), " ",
        el("button", { type: "button", className: "btn btn-link btn-sm p-0", "data-action": "drop-condition",
                       "data-index": String(i), text: M.remove })]);
    });
    var hours = el("div", { className: "hours" }, [
      el("span", { text: M.hours + " " }),
      input(index, "hour_from", row.hour_from, { type: "number", min: "0", max: "23", step: "1", "aria-label": M.hours + " " + M.from }),
      el("span", { text: " " + M.to + " " }),
      input(index, "hour_to", row.hour_to, { type: "number", min: "0", max: "23", step: "1", "aria-label": M.hours + " " + M.to })]);
    var sources = el("details", { className: "source-picker" }, [
      el("summary", { text: M.source_types + " (" + (row.source_types.length || M.any) + ")" })].concat(
      checkboxes(index, "source_types", ref.source_types, row.source_types)));
    if (row._sourcesOpen) { sources.open = true; }
    return [hours, errorSlot("hours"),
            labelled(M.weekend, tristate(index, "weekend", row.weekend)), errorSlot("weekend"),
            labelled(M.inspection, tristate(index, "inspection", row.inspection)), errorSlot("inspection"),
            sources, errorSlot("source_types")].concat(zone, [errorSlot("zone")],
      kept.length ? [el("div", { className: "small text-muted", text: M.kept_conditions })].concat(kept) : [],
      [errorSlot("conditions")]);
  }

  function assignWidgets(index, row) {
    var out = [select(index, "assign_kind", [["grid_unit", M.grid_unit], ["unit", M.unit], ["unit_type", M.unit_type]],
                      row.assign_kind)];
    if (row.assign_kind === "unit") {
      out.push(select(index, "assign_value", [["", M.choose]].concat(ref.units.map(function (u) {
        return [u.code, u.code + " " + u.name]; })), row.assign_value));
    } else if (row.assign_kind === "unit_type") {
      out.push(select(index, "assign_value", [["", M.choose]].concat(ref.unit_types.map(function (t) { return [t.code, t.name]; })),
                      row.assign_value));
    }
    out.push(errorSlot("assign"));
    return out;
  }

  function taskWidgets(index, row) {
    var templates = ref.templates.map(function (t) { return [t.code, t.code + " " + t.name]; });
    if (row.template && !ref.templates.some(function (t) { return t.code === row.template; })) {
      templates.push([row.template, row.template]);
    }
    var timelines = ref.timelines.map(function (t) { return [t.code, t.code + " " + t.name]; });
    if (row.timeline && !ref.timelines.some(function (t) { return t.code === row.timeline; })) {
      timelines.push([row.timeline, row.timeline]);
    }
    return [labelled(M.template, select(index, "template", [["", M.choose]].concat(templates), row.template)),
            errorSlot("template"),
            labelled(M.timeline, select(index, "timeline", [["", M.no_timeline]].concat(timelines), row.timeline)),
            errorSlot("timeline"),
            el("div", { className: "limit" }, [el("span", { text: M.limit + " " }),
              input(index, "limit_value", row.limit_value, { type: "number", min: "0", step: "any", "aria-label": M.limit }),
              select(index, "limit_unit", [["", M.category_limit]].concat(ref.limit_units.map(function (u) {
                return [u.code, u.name]; })), row.limit_unit, { "aria-label": M.limit })]),
            errorSlot("limit")];
  }

  function cell(label, children, className) {
    return el("td", { "data-label": label, className: className || "" }, children);
  }

  function renderRow(row, index) {
    var enabled = el("input", { type: "checkbox", name: "rows-" + index + "-enabled" });
    enabled.checked = row.enabled !== false;
    var actions = el("div", { className: "row-actions" }, [
      el("button", { type: "button", className: "btn btn-sm btn-outline-secondary move-up", "data-action": "up",
                     title: M.move_up, "aria-label": M.move_up, text: "↑", disabled: index === 0 }),
      el("button", { type: "button", className: "btn btn-sm btn-outline-secondary move-down", "data-action": "down",
                     title: M.move_down, "aria-label": M.move_down, text: "↓", disabled: index === rows.length - 1 }),
      el("button", { type: "button", className: "btn btn-sm btn-outline-danger remove-row", "data-action": "remove",
                     title: M.remove_row, "aria-label": M.remove_row, text: "×" })]);
    // Seven columns, so the table and its analysis fit a 1280 px screen without scrolling sideways.
    var tr = el("tr", { "data-row": String(index), "data-key": row.key || "" }, [
      cell("#", [el("span", { className: "row-number", text: String(index + 1) }), actions], "row-head"),
      cell(M.key + " / " + M.title, [
        labelled(M.key, input(index, "key", row.key, { maxlength: "32", placeholder: M.key_auto })), errorSlot("key"),
        labelled(M.title_zh, input(index, "title_zh", row.title_zh)), errorSlot("title_zh"),
        labelled(M.title_en, input(index, "title_en", row.title_en, { placeholder: M.title_en_optional })),
        errorSlot("title_en")], "col-title"),
      cell(M.categories, categoryPicker(index, row), "categories-cell"),
      cell(M.conditions, conditionWidgets(index, row), "conditions-cell"),
      cell(M.assign + " / " + M.task, [el("span", { className: "mini-head", text: M.assign })]
        .concat(assignWidgets(index, row), taskWidgets(index, row)),
        "col-task"),
      cell(M.points + " / " + M.effective, [
        labelled(M.points, input(index, "points", row.points, { type: "number", min: "0", step: "0.5" })),
        errorSlot("points"),
        labelled(M.legal_basis, el("textarea", { className: "form-control form-control-sm", rows: "2",
                                                 name: "rows-" + index + "-legal_basis", text: row.legal_basis || "" })),
        errorSlot("legal_basis"),
        labelled(M.from, input(index, "effective_from", row.effective_from, { type: "date" })),
        errorSlot("effective_from"),
        labelled(M.until, input(index, "effective_to", row.effective_to, { type: "date" })),
        errorSlot("effective_to"),
        el("label", { className: "check" }, [enabled, " " + M.enabled]), errorSlot("enabled")], "col-more"),
      cell(M.analysis, [el("ul", { className: "row-findings" }), errorSlot("row")], "analysis-cell")]);
    return tr;
  }

  function render() {
    body.innerHTML = "";
    rows.forEach(function (row, index) { body.appendChild(renderRow(row, index)); });
    if (lastAnswer) { show(lastAnswer); }
  }

  function rerenderRow(index) {
    var old = body.querySelector('tr[data-row="' + index + '"]');
    var fresh = renderRow(rows[index], index);
    body.replaceChild(fresh, old);
    if (lastAnswer) { show(lastAnswer); }
  }

  function rowOf(node) {
    var tr = node.closest("tr[data-row]");
    return tr ? Number(tr.dataset.row) : -1;
  }

  function numberOrNull(value) { return value === "" ? null : Number(value); }

  function fieldOf(node) {
    var match = /^rows-\d+-(\w+)$/.exec(node.name || "");
    return match ? match[1] : "";
  }

  function read(node) {
    var index = rowOf(node);
    var field = fieldOf(node);
    if (index < 0 || !field) { return; }
    var row = rows[index];
    if (node.type === "checkbox" && (field === "categories" || field === "source_types" || field === "zone_values")) {
      var list = row[field];
      var at = list.indexOf(node.value);
      if (node.checked && at < 0) { list.push(node.value); }
      if (!node.checked && at >= 0) { list.splice(at, 1); }
      if (field === "categories") { row._open = true; }
      if (field === "source_types") { row._sourcesOpen = true; }
      if (field !== "zone_values") { rerenderRow(index); refocus(index, node.name, node.value); }
    } else if (node.type === "checkbox") {
      row[field] = node.checked;
    } else if (field === "hour_from" || field === "hour_to" || field === "limit_value" || field === "points") {
      row[field] = numberOrNull(node.value);
    } else {
      row[field] = node.value;
      if (field === "key") { node.closest("tr").dataset.key = node.value; }
      if (field === "zone_kind") { row.zone_values = []; rerenderRow(index); }
      if (field === "assign_kind") { row.assign_value = ""; rerenderRow(index); }
    }
  }

  function refocus(index, name, value) {
    var box = body.querySelector('tr[data-row="' + index + '"] input[name="' + name + '"][value="' + value + '"]');
    if (box) { box.focus({ preventScroll: true }); }
  }

  function filterCategories(node) {
    var needle = node.value.trim().toLowerCase();
    var index = rowOf(node);
    if (index >= 0) { rows[index]._filter = node.value; }
    node.closest(".cat-picker").querySelectorAll(".cat-group").forEach(function (group) {
      var any = false;
      group.querySelectorAll(".cat-children label").forEach(function (label) {
        var hit = !needle || label.textContent.toLowerCase().indexOf(needle) >= 0;
        label.hidden = !hit;
        any = any || hit;
      });
      group.hidden = !any;
    });
  }

  function slot(index, field) {
    var tr = body.querySelector('tr[data-row="' + index + '"]');
    return tr && (tr.querySelector('.field-error[data-field="' + field + '"]') ||
                  tr.querySelector('.field-error[data-field="row"]'));
  }

  function show(answer) {
    body.querySelectorAll(".field-error").forEach(function (n) { n.textContent = ""; });
    body.querySelectorAll(".row-findings").forEach(function (n) { n.innerHTML = ""; });
    body.querySelectorAll("tr[data-row]").forEach(function (tr) {
      tr.classList.remove("row-overlap", "row-never", "row-invalid");
    });
    (answer.rows || []).forEach(function (result) {
      var tr = body.querySelector('tr[data-row="' + result.index + '"]');
      if (!tr) { return; }
      var list = tr.querySelector(".row-findings");
      result.findings.forEach(function (f) {
        var item = el("li", { className: "finding finding-" + f.kind, "data-kind": f.kind,
                              "data-other": f.other == null ? null : String(f.other), text: f.message + " " });
        if (f.other != null) {
          item.appendChild(el("button", { type: "button", className: "btn btn-link btn-sm p-0 align-baseline",
                                          "data-action": "goto", "data-target": String(f.other),
                                          text: "→ #" + (f.other + 1) }));
        }
        list.appendChild(item);
        tr.classList.add(f.kind === "never_matches" ? "row-never" : "row-overlap");
      });
    });
    var general = [];
    (answer.problems || []).forEach(function (p) {
      var target = p.row == null ? null : slot(p.row, p.field);
      if (target) {
        target.textContent = target.textContent ? target.textContent + " · " + p.message : p.message;
        target.closest("tr").classList.add("row-invalid");
      } else {
        general.push((p.row == null ? "" : M.row + " " + (p.row + 1) + ": ") + p.message);
      }
    });
    var box = document.getElementById("list-problems");
    box.innerHTML = "";
    general.forEach(function (text) { box.appendChild(el("div", { text: text })); });
    box.classList.toggle("d-none", !general.length);
    var warned = document.getElementById("scenario-warnings");
    if (warned) {
      warned.innerHTML = "";
      (answer.scenarios || []).forEach(function (o) {
        var item = el("div", { className: "scenario-warning", "data-title": o.title, text: M.scenario + " " + o.title + ": " });
        item.appendChild(el("span", { text: o.differences.map(function (d) { return d.message; }).join("; ") }));
        warned.appendChild(item);
      });
      warned.classList.toggle("d-none", !(answer.scenarios || []).length);
    }
  }

  function payload() {
    return JSON.stringify({ stamp: form.dataset.stamp, rows: rows.map(function (row) {
      var copy = Object.assign({}, row);
      delete copy._open; delete copy._sourcesOpen; delete copy._filter;
      return copy;
    }) });
  }

  function post(url) {
    return fetch(url, { method: "POST", credentials: "same-origin",
                        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf }, body: payload() });
  }

  function analyse() {
    var mine = ++sequence;
    var status = document.getElementById("analysis-status");
    status.textContent = M.checking;
    post(form.dataset.analyseUrl).then(function (r) { return r.json(); }).then(function (answer) {
      if (mine !== sequence) { return; }
      lastAnswer = answer;
      show(answer);
      var clean = !(answer.problems || []).length && (answer.rows || []).every(function (r) { return !r.findings.length; });
      status.textContent = clean ? M.clean : M.checked;
      form.dataset.analysed = String(mine);
    }).catch(function () { status.textContent = M.failed; });
  }

  function changed() {
    document.getElementById("save-status").textContent = M.unsaved;
    form.dataset.dirty = "1";
    clearTimeout(timer);
    timer = setTimeout(analyse, 300);
  }

  function nextKey() {
    var prefix = { zero_tolerance: "ZT", strict_management: "SM" }[kind] || "C";
    var used = rows.map(function (r) { return String(r.key || "").toUpperCase(); });
    var n = rows.length + 1;
    while (used.indexOf(prefix + n) >= 0) { n += 1; }
    return prefix + n;
  }

  function blank() {
    var template = ref.templates.length === 1 ? ref.templates[0].code : "";
    return { id: null, key: nextKey(), title_zh: "", title_en: "", categories: [], hour_from: null, hour_to: null,
             weekend: "any", inspection: "any", source_types: [], zone_kind: "any", zone_values: [], conditions: [],
             assign_kind: "grid_unit", assign_value: "", template: template, timeline: "", limit_value: null,
             limit_unit: "", points: 0, legal_basis: "", enabled: true, effective_from: "", effective_to: "" };
  }

  body.addEventListener("input", function (e) {
    if (e.target.classList.contains("cat-filter")) { filterCategories(e.target); return; }
    if (fieldOf(e.target) && e.target.type !== "checkbox" && e.target.tagName !== "SELECT") { read(e.target); changed(); }
  });
  body.addEventListener("change", function (e) {
    if (e.target.dataset.parent) {
      var index = rowOf(e.target);
      var row = rows[index];
      ref.categories.filter(function (c) { return c.parent === e.target.dataset.parent; }).forEach(function (c) {
        var at = row.categories.indexOf(c.code);
        if (e.target.checked && at < 0) { row.categories.push(c.code); }
        if (!e.target.checked && at >= 0) { row.categories.splice(at, 1); }
      });
      row._open = true;
      rerenderRow(index);
      changed();
      return;
    }
    if (fieldOf(e.target) && (e.target.type === "checkbox" || e.target.tagName === "SELECT")) { read(e.target); changed(); }
  });
  body.addEventListener("toggle", function (e) {
    var index = rowOf(e.target);
    if (index < 0) { return; }
    if (e.target.classList.contains("cat-picker")) { rows[index]._open = e.target.open; }
    if (e.target.classList.contains("source-picker")) { rows[index]._sourcesOpen = e.target.open; }
  }, true);
  body.addEventListener("click", function (e) {
    var button = e.target.closest("[data-action]");
    if (!button) { return; }
    var index = rowOf(button);
    var action = button.dataset.action;
    if (action === "goto") {
      var target = body.querySelector('tr[data-row="' + button.dataset.target + '"]');
      target.scrollIntoView({ block: "center" });
      target.querySelector('[name$="-key"]').focus({ preventScroll: true });
      return;
    }
    if (action === "up" && index > 0) { rows.splice(index - 1, 0, rows.splice(index, 1)[0]); }
    else if (action === "down" && index < rows.length - 1) { rows.splice(index + 1, 0, rows.splice(index, 1)[0]); }
    else if (action === "remove") { rows.splice(index, 1); }
    else if (action === "uncategorise") {
      rows[index].categories = rows[index].categories.filter(function (c) { return c !== button.dataset.code; });
    } else if (action === "drop-condition") { rows[index].conditions.splice(Number(button.dataset.index), 1); }
    else { return; }
    lastAnswer = null;
    render();
    changed();
  });
  document.getElementById("add-row").addEventListener("click", function () {
    rows.push(blank());
    lastAnswer = null;
    render();
    var last = body.querySelector('tr[data-row="' + (rows.length - 1) + '"]');
    last.scrollIntoView({ block: "nearest" });
    last.querySelector('[name$="-title_zh"]').focus({ preventScroll: true });
    changed();
  });
  form.addEventListener("submit", function (e) { e.preventDefault(); });
  document.getElementById("save").addEventListener("click", function () {
    var status = document.getElementById("save-status");
    var button = document.getElementById("save");
    clearTimeout(timer);
    sequence += 1;  // an analysis still under way must not overwrite what the save answers
    status.textContent = M.saving;
    status.className = "ml-2";
    button.disabled = true;
    post(form.dataset.saveUrl).then(function (r) {
      return r.json().then(function (answer) { return { ok: r.ok, answer: answer }; });
    }).then(function (result) {
      button.disabled = false;
      status.textContent = result.answer.message || "";
      status.className = "ml-2 " + (result.ok ? "text-success" : "text-danger");
      status.dataset.state = result.ok ? "saved" : (result.answer.stale ? "stale" : "refused");
      if (result.ok) {
        rows = result.answer.rows;
        form.dataset.stamp = result.answer.stamp;
        form.dataset.dirty = "";
        lastAnswer = null;
        render();
        analyse();
        status.textContent = result.answer.message;
      } else {
        lastAnswer = { rows: (lastAnswer || {}).rows || [], problems: result.answer.problems || [] };
        show(lastAnswer);
      }
    }).catch(function () {
      button.disabled = false;
      status.textContent = M.failed;
      status.className = "ml-2 text-danger";
      status.dataset.state = "failed";
    });
  });

  render();
})();
