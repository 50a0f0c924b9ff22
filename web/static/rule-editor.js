// The guided rule editor: a rule document rendered as condition rows (fact, operator, a value widget that
// fits the fact), nested all/any/none groups and action rows with pickers; a raw JSON view of the same
// document; live checks and the server's problems shown next to the widget whose JSON path they name.
(function () {
  "use strict";
  const form = document.getElementById("rule-editor");
  if (!form) { return; }
  const P = JSON.parse(form.dataset.picker);
  const T = JSON.parse(form.dataset.i18n);
  const editable = form.dataset.editable === "true";
  const FACTS = {};
  P.facts.forEach(function (f) { FACTS[f.name] = f; });
  const conditions = document.getElementById("conditions");
  const actions = document.getElementById("actions");
  const jsonArea = document.getElementById("rule-json");
  const guided = document.getElementById("guided");
  const jsonView = document.getElementById("json-view");
  const toggle = document.getElementById("toggle-json");
  const hidden = document.getElementById("rule-document");
  const csrf = form.querySelector("input[name=csrf_token]").value;
  let mode = "guided";
  let loaded = {};

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") { node.textContent = attrs[k]; } else if (attrs[k] !== null && attrs[k] !== undefined) { node.setAttribute(k, attrs[k]); }
    });
    (children || []).forEach(function (c) { if (c) { node.appendChild(c); } });
    return node;
  }
  function option(value, label, selected) {
    const o = el("option", { value: value, text: label });
    if (selected) { o.selected = true; }
    return o;
  }
  function select(part, items, current, placeholder) {
    const s = el("select", { "class": "form-control form-control-sm", "data-part": part, "aria-label": T["part_" + part] || part });
    if (placeholder) { s.appendChild(option("", T.choose, current === undefined || current === "")); }
    let found = false;
    items.forEach(function (it) {
      const hit = String(it.value) === String(current);
      found = found || hit;
      s.appendChild(option(it.value, it.label, hit));
    });
    if (!found && current !== undefined && current !== null && current !== "") {
      s.appendChild(option(current, current + " (" + T.unknown + ")", true));
    }
    return s;
  }
  function button(cls, label, id) {
    return el("button", { type: "button", "class": "btn btn-sm " + cls, id: id || null, text: label });
  }
  function clone(v) { return v === undefined ? undefined : JSON.parse(JSON.stringify(v)); }

  // ---- what each fact's values may be, labelled -------------------------------------------------------
  function itemsFor(name) {
    const fact = FACTS[name];
    if (name === "category") { return P.categories.map(function (c) { return { value: c.code, label: c.code + " " + c.label, parent: c.parent }; }); }
    if (name === "category_parent") { return P.categories.filter(function (c) { return !c.parent; }).map(function (c) { return { value: c.code, label: c.code + " " + c.label }; }); }
    if (name === "unit") { return P.units.map(function (u) { return { value: u.code, label: u.code + " " + u.label }; }); }
    if (name === "grid") { return P.grids.map(function (g) { return { value: g.code, label: g.code + " " + g.label }; }); }
    if (name === "unit_type") { return P.unit_types.map(function (t) { return { value: t, label: t }; }); }
    if (name === "weekday") { return P.weekdays.map(function (d, i) { return { value: i + 1, label: d }; }); }
    if (fact && fact.choices.length) { return fact.choices.map(function (c) { return { value: c, label: c }; }); }
    return null;
  }
  function labelOf(name, value) {
    const items = itemsFor(name);
    const hit = items && items.find(function (it) { return String(it.value) === String(value); });
    return hit ? hit.label : String(value);
  }
  function isNum(v) { return typeof v === "number" && isFinite(v); }
  function operand(op) { const o = P.operators[op]; return o ? o.operand : null; }
  function fits(fact, op, value) {
    if (!fact) { return false; }
    if (value === undefined || value === null) { return true; }
    if (operand(op) === "flag" || fact.type === "bool") { return typeof value === "boolean"; }
    if (operand(op) === "pair") { return Array.isArray(value) && value.length === 2 && value.every(isNum); }
    const scalar = fact.type === "int" ? isNum : function (v) { return typeof v === "string"; };
    if (operand(op) === "list") { return Array.isArray(value) && value.every(scalar); }
    return scalar(value);
  }
  function convert(value, fromOp, toOp) {
    const many = function (op) { return operand(op) === "list"; };
    const pair = function (op) { return operand(op) === "pair"; };
    const flag = function (op) { return operand(op) === "flag"; };
    if (many(fromOp) === many(toOp) && pair(fromOp) === pair(toOp) && flag(fromOp) === flag(toOp)) { return value; }
    if (many(toOp) && value !== undefined && !Array.isArray(value)) { return [value]; }
    if (!many(toOp) && !pair(toOp) && Array.isArray(value) && !flag(toOp)) { return value[0]; }
    return undefined;
  }

  // ---- value widgets: each returns {node, read} ------------------------------------------------------
  function jsonWidget(value) {
    const input = el("input", { "class": "form-control form-control-sm", "data-part": "value", "data-json": "1",
                                title: T.json_value, placeholder: T.json_value });
    input.value = value === undefined ? "" : JSON.stringify(value);
    return { node: input, read: function () {
      if (input.value.trim() === "") { return undefined; }
      try { return JSON.parse(input.value); } catch (e) { return input.value; }
    } };
  }
  function yesNo(value) {
    const s = select("value", [{ value: "true", label: T.yes }, { value: "false", label: T.no }], String(value !== false));
    return { node: s, read: function () { return s.value === "true"; } };
  }
  function numberInput(part, value, min, max) {
    const input = el("input", { type: "number", "class": "form-control form-control-sm", "data-part": part, inputmode: "numeric",
                                min: min, max: max, step: "1" });
    if (value !== undefined && value !== null) { input.value = value; }
    return input;
  }
  function readNumber(input) { return input.value === "" ? null : Number(input.value); }
  function hourSelect(part, value) {
    const hours = [];
    for (let h = 0; h < 24; h += 1) { hours.push({ value: h, label: (h < 10 ? "0" : "") + h + ":00" }); }
    return select(part, hours, value === undefined ? "" : value, value === undefined || value === null);
  }
  function picker(items, chosen, name) {
    const box = el("div", { "class": "picker", "data-part": "value" });
    const list = el("div", { "class": "picker-items" });
    const shown = el("div", { "class": "picker-chosen small text-muted" });
    const known = items.map(function (it) { return String(it.value); });
    (chosen || []).forEach(function (v) {
      if (known.indexOf(String(v)) < 0) { items = items.concat([{ value: v, label: v + " (" + T.unknown + ")" }]); }
    });
    if (items.length > 8) {
      const filter = el("input", { type: "search", "class": "form-control form-control-sm mb-1 picker-filter", placeholder: T.filter, "aria-label": T.filter });
      filter.addEventListener("input", function () {
        const q = filter.value.trim().toLowerCase();
        list.querySelectorAll("label").forEach(function (l) { l.classList.toggle("d-none", q !== "" && l.textContent.toLowerCase().indexOf(q) < 0); });
      });
      box.appendChild(filter);
    }
    items.forEach(function (it) {
      const box2 = el("input", { type: "checkbox", value: it.value });
      box2.checked = (chosen || []).some(function (v) { return String(v) === String(it.value); });
      list.appendChild(el("label", { "class": "d-block mb-0" + (it.parent ? " pl-3" : "") }, [box2, document.createTextNode(" " + it.label)]));
    });
    box.appendChild(list);
    box.appendChild(shown);
    const numeric = items.length && items.every(function (it) { return typeof it.value === "number"; });
    const first = (chosen || []).map(String);  // the order the document had: re-saving must not reorder it
    function read() {
      const checked = Array.from(list.querySelectorAll("input:checked")).map(function (b) { return b.value; });
      const kept = first.filter(function (v) { return checked.indexOf(v) >= 0; });
      return kept.concat(checked.filter(function (v) { return kept.indexOf(v) < 0; }))
        .map(function (v) { return numeric ? Number(v) : v; });
    }
    function note() {
      const v = read();
      shown.textContent = v.length ? v.map(function (x) { return labelOf(name, x); }).join(", ") : T.none_chosen;
    }
    list.addEventListener("change", note);
    note();
    return { node: box, read: read };
  }
  function commaList(fact, value) {
    const input = el("input", { "class": "form-control form-control-sm", "data-part": "value", placeholder: T.comma, title: T.comma });
    input.value = (value || []).join(", ");
    return { node: input, read: function () {
      return input.value.split(/[,，、]/).map(function (s) { return s.trim(); }).filter(Boolean).map(function (s) {
        return fact.type === "int" && /^-?\d+(\.\d+)?$/.test(s) ? Number(s) : s;
      });
    } };
  }
  function valueWidget(name, op, value) {
    const fact = FACTS[name];
    if (!fact || !fits(fact, op, value) || fact.ops.indexOf(op) < 0) { return jsonWidget(value); }
    if (operand(op) === "flag" || fact.type === "bool") { return yesNo(value); }
    const items = itemsFor(name);
    if (operand(op) === "pair") {
      const lo = value ? value[0] : undefined;
      const hi = value ? value[1] : undefined;
      const low = name === "local_hour" ? hourSelect("value-low", lo) : numberInput("value-low", lo, 0);
      const high = name === "local_hour" ? hourSelect("value-high", hi) : numberInput("value-high", hi, 0);
      const wrap = el("div", { "class": "range", "data-part": "value" }, [el("span", { "class": "range-word", text: T.from }), low,
                      el("span", { "class": "range-word", text: T.to }), high]);
      return { node: wrap, read: function () {
        const num = function (s) { return s.tagName === "SELECT" ? (s.value === "" ? null : Number(s.value)) : readNumber(s); };
        return [num(low), num(high)];
      } };
    }
    if (operand(op) === "list") {
      return items ? picker(items, value, name) : commaList(fact, value);
    }
    if (items) {
      const s = select("value", items, value, true);
      return { node: s, read: function () { return s.value === "" ? "" : (fact.type === "int" ? Number(s.value) : s.value); } };
    }
    if (fact.type === "int") {
      const input = numberInput("value", value, 0, name === "local_hour" ? 23 : null);
      return { node: input, read: function () { return readNumber(input); } };
    }
    const input = el("input", { "class": "form-control form-control-sm", "data-part": "value",
                                list: name === "filing_condition" ? "filing-conditions" : null });
    input.value = value === undefined ? "" : value;
    return { node: input, read: function () { return input.value.trim(); } };
  }

  // ---- condition rows and groups --------------------------------------------------------------------
  function conditionRow(leaf) {
    const extra = {};
    Object.keys(leaf).forEach(function (k) { if (["fact", "op", "value"].indexOf(k) < 0) { extra[k] = leaf[k]; } });
    const row = el("div", { "class": "condition-row" });
    row._extra = extra;
    const factItems = P.facts.map(function (f) { return { value: f.name, label: f.label }; });
    const fact = select("fact", factItems, leaf.fact, leaf.fact === undefined);
    const cell = el("div", { "class": "value-cell" });
    let op = null;
    let widget = null;
    function opsFor(name) { return FACTS[name] ? FACTS[name].ops : []; }
    function buildOp(current) {
      const items = opsFor(fact.value).map(function (o) { return { value: o, label: P.operators[o].label }; });
      const next = select("op", items, current, false);
      if (op) { row.replaceChild(next, op); } else { row.insertBefore(next, cell); }
      op = next;
      op.addEventListener("change", function () {
        const was = op.dataset.was;
        buildValue(convert(widget.read(), was, op.value));
        op.dataset.was = op.value;
      });
      op.dataset.was = op.value;
    }
    function buildValue(value) {
      widget = valueWidget(fact.value, op.value, value);
      cell.innerHTML = "";
      cell.appendChild(widget.node);
    }
    row.appendChild(fact);
    row.appendChild(cell);
    buildOp(leaf.op === undefined ? opsFor(leaf.fact)[0] : leaf.op);
    buildValue(clone(leaf.value));
    fact.addEventListener("change", function () {
      const keep = opsFor(fact.value).indexOf(op.value) >= 0 ? op.value : opsFor(fact.value)[0];
      buildOp(keep);
      buildValue(undefined);
    });
    const remove = button("btn-outline-danger remove-condition", "×");
    remove.title = T.remove;
    remove.setAttribute("aria-label", T.remove);
    remove.addEventListener("click", function () { row.remove(); changed(); });
    row.appendChild(remove);
    row._serialize = function (path) {
      const out = Object.assign({}, row._extra, { fact: fact.value, op: op.value });
      const value = widget.read();
      if (value !== undefined) { out.value = value; }
      row.dataset.path = path;
      fact.dataset.path = path + ".fact";
      op.dataset.path = path + ".op";
      widget.node.dataset.path = path + ".value";
      return out;
    };
    row._describe = function (cond) { return describeLeaf(cond); };
    return row;
  }
  function rawRow(cond) {
    const row = el("div", { "class": "condition-row condition-raw" });
    const area = el("textarea", { "class": "form-control form-control-sm text-monospace", rows: "2", "data-part": "value", title: T.raw_condition });
    area.value = JSON.stringify(cond);
    row.appendChild(el("div", { "class": "small text-muted w-100", text: T.raw_condition }));
    row.appendChild(area);
    const remove = button("btn-outline-danger remove-condition", "×");
    remove.addEventListener("click", function () { row.remove(); changed(); });
    row.appendChild(remove);
    row._serialize = function (path) {
      row.dataset.path = path;
      area.dataset.path = path + ".value";
      try { return JSON.parse(area.value); } catch (e) { return area.value; }
    };
    return row;
  }
  function groupBox(kind, items, isRoot) {
    const box = el("div", { "class": "condition-group" + (isRoot ? " root-group" : "") });
    const head = el("div", { "class": "group-head" });
    const modeSel = select("mode", [{ value: "all", label: T.all }, { value: "any", label: T.any }, { value: "none", label: T.none }], kind, false);
    const list = el("div", { "class": "group-items" });
    const addCond = button("btn-outline-secondary add-condition editor-controls", "+ " + T.add_condition, isRoot ? "add-condition" : null);
    const addGroup = button("btn-outline-secondary add-group editor-controls", "+ " + T.add_group, isRoot ? "add-group" : null);
    head.appendChild(modeSel);
    head.appendChild(addCond);
    head.appendChild(addGroup);
    if (!isRoot) {
      const remove = button("btn-outline-danger remove-group editor-controls", T.remove_group);
      remove.addEventListener("click", function () { box.remove(); changed(); });
      head.appendChild(remove);
    }
    addCond.addEventListener("click", function () { list.appendChild(conditionRow({ fact: "category", op: "in", value: [] })); changed(); });
    addGroup.addEventListener("click", function () {
      list.appendChild(groupBox("any", [{ fact: "category", op: "in", value: [] }], false)); changed();
    });
    box.appendChild(head);
    box.appendChild(list);
    items.forEach(function (c) { list.appendChild(node(c)); });
    box._serialize = function (path) {
      const m = modeSel.value;
      const children = Array.prototype.filter.call(list.children, function (c) { return c._serialize; });
      box.dataset.path = path;
      modeSel.dataset.path = path;
      if (isRoot && box._bare && m === "all" && children.length === 1 && !children[0].classList.contains("condition-group")) {
        list.dataset.path = path;
        return children[0]._serialize(path);
      }
      const listPath = m === "none" ? path + ".not.any" : path + "." + m;
      list.dataset.path = listPath;
      const out = children.map(function (c, i) { return c._serialize(listPath + "[" + i + "]"); });
      if (m === "none") { return { not: { any: out } }; }
      const res = {};
      res[m] = out;
      return res;
    };
    return box;
  }
  function isObj(v) { return v !== null && typeof v === "object" && !Array.isArray(v); }
  function node(cond) {
    if (isObj(cond)) {
      const keys = Object.keys(cond);
      if (keys.length === 1 && (keys[0] === "all" || keys[0] === "any") && Array.isArray(cond[keys[0]])) {
        return groupBox(keys[0], cond[keys[0]], false);
      }
      if (keys.length === 1 && keys[0] === "not") {
        const inner = cond.not;
        if (isObj(inner) && Object.keys(inner).length === 1 && Array.isArray(inner.any)) { return groupBox("none", inner.any, false); }
        return groupBox("none", [inner], false);
      }
      if (keys.every(function (k) { return ["all", "any", "not"].indexOf(k) < 0; })) { return conditionRow(cond); }
    }
    return rawRow(cond);
  }
  function rootGroup(when) {
    let root;
    if (isObj(when) && Object.keys(when).length === 1 && ["all", "any"].indexOf(Object.keys(when)[0]) >= 0 && Array.isArray(when[Object.keys(when)[0]])) {
      const k = Object.keys(when)[0];
      root = groupBox(k, when[k], true);
    } else if (isObj(when) && Object.keys(when).length === 1 && isObj(when.not) && Object.keys(when.not).length === 1 && Array.isArray(when.not.any)) {
      root = groupBox("none", when.not.any, true);
    } else if (when === undefined) {
      root = groupBox("all", [], true);
    } else {
      root = groupBox("all", [when], true);
      root._bare = true;
    }
    return root;
  }

  // ---- action rows ----------------------------------------------------------------------------------
  function field(labelText, control, path) {
    const wrap = el("div", { "class": "action-field" }, [el("label", { "class": "small mb-0 d-block", text: labelText }), control]);
    wrap._path = path;
    return wrap;
  }
  function targetPair(kinds, value, parse, targets) {
    // a kind select plus a second select for the unit / unit type / tier that kind needs
    const parsed = parse(value);
    const kindSel = select(kinds.part, kinds.items, parsed.kind, false);
    const holder = el("span", { "class": "target-holder" });
    let target = null;
    function build(current) {
      holder.innerHTML = "";
      target = null;
      const items = targets[kindSel.value];
      if (items) { target = select(kinds.part.replace("-kind", "-target"), items, current, true); holder.appendChild(target); }
    }
    build(parsed.target);
    kindSel.addEventListener("change", function () { build(undefined); });
    const wrap = el("div", { "class": "pair", "data-part": kinds.part.replace("-kind", "") }, [kindSel, holder]);
    return { node: wrap, read: function () { return target ? kindSel.value + ":" + target.value : kindSel.value; } };
  }
  function splitTarget(value) {
    const s = typeof value === "string" ? value : "";
    const i = s.indexOf(":");
    return i < 0 ? { kind: s, target: undefined } : { kind: s.slice(0, i), target: s.slice(i + 1) };
  }
  const UNITS = P.units.map(function (u) { return { value: u.code, label: u.code + " " + u.label }; });
  const UNIT_TYPES = P.unit_types.map(function (t) { return { value: t, label: t }; });
  const TIERS = P.tiers.map(function (t) { return { value: t.level, label: T.tier_n + " " + t.level + (t.label ? " " + t.label : "") }; });

  function actionRow(action) {
    const kind = isObj(action) ? action.do : undefined;
    const row = el("div", { "class": "action-row", "data-kind": kind || "" });
    const known = { create_task: ["do", "template", "assign", "timeline", "limit"], notify: ["do", "channel", "to"],
                    escalate: ["do", "tier", "list_publicly"] }[kind];
    const extra = {};
    if (known) { Object.keys(action).forEach(function (k) { if (known.indexOf(k) < 0) { extra[k] = action[k]; } }); }
    const title = el("div", { "class": "action-title font-weight-bold small" });
    row.appendChild(title);
    const parts = [];
    let read;
    if (kind === "create_task") {
      title.textContent = T.task;
      const template = select("template", P.templates.map(function (t) { return { value: t.code, label: t.code + " " + t.label }; }), action.template, true);
      const assign = targetPair({ part: "assign-kind", items: [{ value: "grid_unit", label: T.grid_unit }, { value: "unit", label: T.unit }, { value: "unit_type", label: T.unit_type }] },
                                action.assign || "grid_unit", splitTarget, { unit: UNITS, unit_type: UNIT_TYPES });
      const timeline = select("timeline", [{ value: "", label: T.no_timeline }].concat(P.timelines.map(function (t) { return { value: t.code, label: t.code + " " + t.label }; })), action.timeline || "", false);
      const limit = action.limit || {};
      const limitValue = el("input", { type: "number", min: "0", step: "0.5", "class": "form-control form-control-sm", "data-part": "limit-value", placeholder: T.default_limit, title: T.default_limit });
      if (isNum(limit.value)) { limitValue.value = limit.value; }
      const limitUnit = select("limit-unit", P.limit_units.map(function (u) { return { value: u.code, label: u.label }; }), limit.unit || "working_days", false);
      const limitBox = el("div", { "class": "pair", "data-part": "limit" }, [limitValue, limitUnit]);
      parts.push(field(T.template, template, ".template"), field(T.assign, assign.node, ".assign"),
                 field(T.limit, limitBox, ".limit"), field(T.timeline, timeline, ".timeline"));
      read = function () {
        const out = { do: "create_task", template: template.value, assign: assign.read() };
        if (limitValue.value !== "") { out.limit = { value: Number(limitValue.value), unit: limitUnit.value }; }
        if (timeline.value) { out.timeline = timeline.value; }
        return out;
      };
    } else if (kind === "notify") {
      title.textContent = T.notify;
      const to = targetPair({ part: "to-kind", items: [{ value: "assignee", label: T.assignee }, { value: "grid_unit", label: T.grid_unit },
                                                      { value: "tier", label: T.tier }, { value: "unit", label: T.unit }] },
                            action.to || "tier:1", splitTarget, { tier: TIERS, unit: UNITS });
      const channel = select("channel", P.channels.map(function (c) { return { value: c, label: c }; }), action.channel || "inbox", false);
      parts.push(field(T.to_whom, to.node, ".to"), field(T.channel, channel, ".channel"));
      read = function () { return { do: "notify", channel: channel.value, to: to.read() }; };
    } else if (kind === "escalate") {
      title.textContent = T.escalate;
      const tier = select("tier", TIERS, action.tier, action.tier === undefined);
      const pub = el("input", { type: "checkbox", "data-part": "list_publicly" });
      pub.checked = !!action.list_publicly;
      parts.push(field(T.tier, tier, ".tier"), field(T.list_publicly, pub, ".list_publicly"));
      read = function () {
        const out = { do: "escalate", tier: tier.value === "" ? null : Number(tier.value) };
        if (pub.checked || "list_publicly" in action) { out.list_publicly = pub.checked; }
        return out;
      };
    } else {
      title.textContent = T.unknown_action;
      const area = el("textarea", { "class": "form-control form-control-sm text-monospace", rows: "2", "data-part": "raw" });
      area.value = JSON.stringify(action);
      parts.push(field("JSON", area, ""));
      read = function () { try { return JSON.parse(area.value); } catch (e) { return area.value; } };
    }
    const body = el("div", { "class": "action-fields" }, parts);
    row.appendChild(body);
    const remove = button("btn-outline-danger remove-action editor-controls", "×");
    remove.title = T.remove;
    remove.setAttribute("aria-label", T.remove);
    remove.addEventListener("click", function () { row.remove(); changed(); });
    row.appendChild(remove);
    row._serialize = function (path) {
      row.dataset.path = path;
      title.dataset.path = path + ".do";
      parts.forEach(function (p) { p.dataset.path = path + p._path; });
      const out = read();
      return isObj(out) ? Object.assign({}, out, extra) : out;
    };
    return row;
  }

  // ---- the whole document ---------------------------------------------------------------------------
  function top(name) { return form.querySelector('[data-top="' + name + '"]'); }
  function render(doc) {
    loaded = isObj(doc) ? clone(doc) : {};
    top("key").value = typeof loaded.key === "string" ? loaded.key : "";
    const title = isObj(loaded.title) ? loaded.title : {};
    top("title.zh").value = title.zh || "";
    top("title.en").value = title.en || "";
    top("enabled").checked = loaded.enabled !== false;
    const origin = isObj(loaded.origin) ? loaded.origin : {};
    top("origin.points").value = isNum(origin.points) ? origin.points : "";
    top("origin.legal_basis").value = origin.legal_basis || "";
    conditions.innerHTML = "";
    conditions.appendChild(rootGroup(loaded.when));
    actions.innerHTML = "";
    (Array.isArray(loaded.then) ? loaded.then : []).forEach(function (a) { actions.appendChild(actionRow(a)); });
    lockIfReadOnly();
  }
  function serialize() {
    const doc = {};
    doc.key = top("key").value.trim();
    doc.title = Object.assign({}, isObj(loaded.title) ? loaded.title : {}, { zh: top("title.zh").value.trim(), en: top("title.en").value.trim() });
    doc.enabled = top("enabled").checked;
    const origin = Object.assign({}, isObj(loaded.origin) ? loaded.origin : {});
    const points = top("origin.points").value;
    if (points === "") { delete origin.points; } else { origin.points = Number(points); }
    const legal = top("origin.legal_basis").value.trim();
    if (legal === "") { delete origin.legal_basis; } else { origin.legal_basis = legal; }
    if (Object.keys(origin).length) { origin.list = origin.list || "custom"; doc.origin = origin; }
    const root = conditions.firstChild;
    doc.when = root._serialize("when");
    doc.then = Array.prototype.map.call(actions.children, function (row, i) { return row._serialize("then[" + i + "]"); });
    Object.keys(loaded).forEach(function (k) {
      if (!(k in doc) && ["version", "origin"].indexOf(k) < 0) { doc[k] = loaded[k]; }
    });
    return doc;
  }

  // ---- plain-words summary --------------------------------------------------------------------------
  function valueText(name, value) {
    if (typeof value === "boolean") { return value ? T.yes : T.no; }
    if (Array.isArray(value)) { return value.map(function (v) { return labelOf(name, v); }).join(", "); }
    return value === undefined || value === null || value === "" ? "…" : labelOf(name, value);
  }
  function describeLeaf(c) {
    const fact = FACTS[c.fact];
    const label = fact ? fact.label : String(c.fact);
    const opLabel = (P.operators[c.op] && P.operators[c.op].label) || String(c.op);
    if (operand(c.op) === "pair" && Array.isArray(c.value)) {
      return label + " " + opLabel + " " + c.value[0] + "–" + c.value[1];
    }
    return label + " " + opLabel + " " + valueText(c.fact, c.value);
  }
  function describe(c, nested) {
    if (!isObj(c)) { return "?"; }
    let text;
    if (Array.isArray(c.all) || Array.isArray(c.any)) {
      const list = c.all || c.any;
      if (!list.length) { return T.no_conditions; }
      text = list.map(function (x) { return describe(x, true); }).join(" " + (c.all ? T.and : T.or) + " ");
      return nested && list.length > 1 ? "(" + text + ")" : text;
    }
    if ("not" in c) { return T.none + ": (" + describe(c.not, false) + ")"; }
    return describeLeaf(c);
  }
  function describeAction(a) {
    if (!isObj(a)) { return "?"; }
    const target = function (v) {
      const t = splitTarget(v);
      if (t.kind === "tier") { return T.tier_n + " " + t.target; }
      if (t.kind === "unit") { return labelOf("unit", t.target); }
      if (t.kind === "unit_type") { return T.unit_type + " " + t.target; }
      return t.kind === "grid_unit" ? T.grid_unit : (t.kind === "assignee" ? T.assignee : String(v));
    };
    if (a.do === "create_task") {
      const tpl = P.templates.find(function (t) { return t.code === a.template; });
      let s = T.task + " «" + (tpl ? tpl.label : (a.template || "…")) + "» → " + target(a.assign);
      if (isObj(a.limit)) {
        const u = P.limit_units.find(function (x) { return x.code === a.limit.unit; });
        s += ", " + T.in_limit + " " + a.limit.value + " " + (u ? u.label : a.limit.unit);
      }
      if (a.timeline) { s += ", " + T.timeline + " " + a.timeline; }
      return s;
    }
    if (a.do === "notify") { return T.notify + " " + target(a.to); }
    if (a.do === "escalate") { return T.escalate + " → " + T.tier_n + " " + a.tier + (a.list_publicly ? " (" + T.list_publicly + ")" : ""); }
    return String(a.do);
  }
  function summarise(doc) {
    document.getElementById("rule-summary").textContent = T.when + ": " + describe(doc.when, false) + "; " + T.then + ": " +
      (doc.then.length ? doc.then.map(describeAction).join("; ") : "…");
  }

  // ---- problems next to their widgets ---------------------------------------------------------------
  function parent(path) {
    const m = /^(.*)(\[\d+\]|\.[^.[\]]+)$/.exec(path);
    return m ? m[1] : null;
  }
  function targetFor(path) {
    const scope = mode === "json" ? jsonView : guided;
    for (let p = path; p; p = parent(p)) {
      const found = scope.querySelector('[data-path="' + (window.CSS && CSS.escape ? CSS.escape(p) : p) + '"]');
      if (found) { return found; }
    }
    return null;
  }
  function showProblems(problems, top) {
    form.querySelectorAll(".field-error").forEach(function (n) { n.remove(); });
    form.querySelectorAll(".is-invalid").forEach(function (n) { n.classList.remove("is-invalid"); });
    problems.forEach(function (p) {
      const note = el("div", { "class": "field-error text-danger small", "data-path": p.path, text: p.message });
      let target = mode === "json" ? jsonView : targetFor(p.path);
      if (mode === "json" && p.path !== "(json)") { note.textContent = p.path + ": " + p.message; }
      if (!target) { return; }
      if (["INPUT", "SELECT", "TEXTAREA"].indexOf(target.tagName) >= 0) {
        target.classList.add("is-invalid");
        target.insertAdjacentElement("afterend", note);
      } else if (target.classList.contains("condition-group") || target.classList.contains("group-items")) {
        const group = target.classList.contains("group-items") ? target.parentNode : target;
        group.querySelector(".group-head").appendChild(note);
      } else {
        target.appendChild(note);
      }
    });
    if (top) {
      const box = document.getElementById("problems");
      const list = box.querySelector("ul");
      list.innerHTML = "";
      problems.forEach(function (p) { list.appendChild(el("li", { "data-path": p.path, text: p.path + ": " + p.message })); });
      box.classList.toggle("d-none", problems.length === 0);
    }
  }

  // ---- live checks, the JSON view, saving -----------------------------------------------------------
  let timer = null;
  let sequence = 0;  // only the answer to the latest check may show its problems
  function showScenarios(broken) {  // the scenarios this edit would break (the twin), while editing
    const box = document.getElementById("scenario-warnings");
    if (!box) { return; }
    box.innerHTML = "";
    broken.forEach(function (o) {
      box.appendChild(el("div", { "class": "scenario-warning", "data-title": o.title,
        text: box.dataset.label + " " + o.title + ": " + o.differences.map(function (d) { return d.message; }).join("; ") }));
    });
    box.classList.toggle("d-none", broken.length === 0);
  }
  function check(doc) {
    if (!editable) { return; }
    const mine = ++sequence;
    fetch(form.dataset.checkUrl, { method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf }, body: JSON.stringify({ document: doc }) })
      .then(function (r) { return r.json(); })
      .then(function (answer) {
        if (mine !== sequence) { return; }
        showProblems(answer.problems || [], false);
        showScenarios(answer.scenarios || []);
      })
      .catch(function () { return null; });
  }
  function changed() {
    clearTimeout(timer);
    timer = setTimeout(function () {
      if (mode === "guided") {
        const doc = serialize();
        summarise(doc);
        check(doc);
      } else {
        try { check(JSON.parse(jsonArea.value)); } catch (e) { sequence += 1; showProblems([{ path: "(json)", message: T.json_broken + " (" + e.message + ")" }], false); }
      }
    }, 350);
  }
  function setMode(next) {
    mode = next;
    guided.classList.toggle("d-none", mode === "json");
    jsonView.classList.toggle("d-none", mode !== "json");
    toggle.textContent = mode === "json" ? toggle.dataset.guided : toggle.dataset.json;
    toggle.setAttribute("aria-pressed", mode === "json" ? "true" : "false");
  }
  toggle.addEventListener("click", function () {
    if (mode === "guided") {
      jsonArea.value = JSON.stringify(serialize(), null, 2);
      setMode("json");
      sequence += 1;
      showProblems([], false);
      return;
    }
    let doc;
    try { doc = JSON.parse(jsonArea.value); } catch (e) {
      showProblems([{ path: "(json)", message: T.json_broken + " (" + e.message + ")" }], false);
      return;
    }
    setMode("guided");
    render(doc);
    changed();
  });
  document.getElementById("add-action").addEventListener("click", function () {
    const kind = document.getElementById("add-action-kind").value;
    const blank = { create_task: { do: "create_task", template: "", assign: "grid_unit" }, notify: { do: "notify", channel: "inbox", to: "tier:1" },
                    escalate: { do: "escalate", tier: P.tiers.length ? P.tiers[0].level : 1 } }[kind];
    actions.appendChild(actionRow(blank));
    lockIfReadOnly();
    changed();
  });
  form.addEventListener("input", changed);
  form.addEventListener("change", changed);
  form.addEventListener("click", function (e) { if (e.target.classList.contains("add-condition") || e.target.classList.contains("add-group")) { lockIfReadOnly(); } });
  form.addEventListener("submit", function () {
    hidden.value = mode === "json" ? jsonArea.value : JSON.stringify(serialize());
  });
  function lockIfReadOnly() {
    if (editable) { return; }
    form.querySelectorAll(".editor-controls, .remove-condition").forEach(function (n) { n.classList.add("d-none"); });
    form.querySelectorAll("input, select, textarea").forEach(function (n) {
      if (n.type !== "hidden" && n !== jsonArea && !n.classList.contains("picker-filter")) { n.disabled = true; }
    });
    jsonArea.readOnly = true;
  }

  const raw = form.dataset.raw;
  render(JSON.parse(form.dataset.doc));
  summarise(serialize());
  if (raw) {
    jsonArea.value = raw;
    setMode("json");
  }
  const initial = JSON.parse(form.dataset.problems || "[]");
  if (initial.length) { showProblems(initial, true); }
})();
