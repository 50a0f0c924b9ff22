// The task-template editor: rows of fields (add, remove, drag to reorder), the design serialised into one
// hidden input, a live preview rendered by the server's own runtime form, and problems shown by the field.
(function () {
  var form = document.getElementById("template-editor");
  if (!form) { return; }
  var spec = JSON.parse(form.dataset.spec);
  var types = JSON.parse(form.dataset.types);
  var body = document.querySelector("#fields tbody");
  var csrf = form.querySelector("input[name=csrf_token]").value;
  var dragged = null;

  function cell(row, html) { var td = document.createElement("td"); td.innerHTML = html; row.appendChild(td); return td; }
  function text(value) { return String(value == null ? "" : value).replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;"); }

  function optionsText(options) {
    return (options || []).map(function (o) { return [o.value, o.zh || "", o.en || ""].join(" | "); }).join("\n");
  }

  function addRow(field) {
    var row = document.createElement("tr");
    row.draggable = true;
    row.className = "field-row";
    cell(row, '<span class="drag" title="drag" style="cursor:move">&#9776;</span>');
    cell(row, '<input class="form-control form-control-sm" data-f="name" value="' + text(field.name) + '">');
    var select = '<select class="form-control form-control-sm" data-f="type">' + types.map(function (t) {  // [code, name in the reader's language]
      return '<option value="' + t[0] + '"' + (t[0] === field.type ? " selected" : "") + ">" + t[1] + "</option>";
    }).join("") + "</select>";
    cell(row, select);
    cell(row, '<input class="form-control form-control-sm" data-f="zh" value="' + text(field.zh) + '">');
    cell(row, '<input class="form-control form-control-sm" data-f="en" value="' + text(field.en) + '">');
    cell(row, '<input type="checkbox" data-f="required"' + (field.required ? " checked" : "") + ">");
    cell(row, '<textarea class="form-control form-control-sm" rows="2" data-f="options">' + text(optionsText(field.options)) + "</textarea>");
    cell(row, '<input class="form-control form-control-sm" data-f="help_zh" value="' + text(field.help_zh) + '">');
    cell(row, '<input class="form-control form-control-sm" data-f="help_en" value="' + text(field.help_en) + '">');
    cell(row, '<button type="button" class="btn btn-sm btn-outline-danger" data-remove>&times;</button>');
    row.addEventListener("dragstart", function () { dragged = row; });
    row.addEventListener("dragover", function (e) { e.preventDefault(); });
    row.addEventListener("drop", function (e) {
      e.preventDefault();
      if (dragged && dragged !== row) { body.insertBefore(dragged, row); changed(); }
    });
    row.querySelector("[data-remove]").addEventListener("click", function () { row.remove(); changed(); });
    body.appendChild(row);
  }

  function collect() {
    var design = {};
    form.querySelectorAll("[data-key]").forEach(function (input) { design[input.dataset.key] = input.value; });
    design.fields = Array.prototype.map.call(body.querySelectorAll("tr"), function (row) {
      var field = {};
      row.querySelectorAll("[data-f]").forEach(function (input) {
        field[input.dataset.f] = input.type === "checkbox" ? input.checked : input.value.trim();
      });
      var options = field.options; delete field.options;
      if (field.type === "choice" || field.type === "multichoice") {
        field.options = options.split("\n").filter(Boolean).map(function (line) {
          var parts = line.split("|").map(function (p) { return p.trim(); });
          return { value: parts[0], zh: parts[1] || parts[0], en: parts[2] || parts[0] };
        });
      }
      if (!field.help_zh) { delete field.help_zh; }
      if (!field.help_en) { delete field.help_en; }
      return field;
    });
    design.checklist = document.getElementById("checklist").value.split("\n").filter(Boolean).map(function (line) {
      var parts = line.split("|").map(function (p) { return p.trim(); });
      return { zh: parts[0], en: parts[1] || parts[0] };
    });
    design.evidence_rules = {};
    form.querySelectorAll("[data-rule]").forEach(function (input) {
      if (input.type === "checkbox") { design.evidence_rules[input.dataset.rule] = input.checked; }
      else if (input.value !== "") { design.evidence_rules[input.dataset.rule] = Number(input.value); }
    });
    return design;
  }

  function showProblems(problems) {
    form.querySelectorAll(".field-problem").forEach(function (n) { n.remove(); });
    var list = document.getElementById("preview-problems");
    list.innerHTML = "";
    problems.forEach(function (p) {
      var target = null;
      var match = /^fields\[(\d+)\]\.(\w+)$/.exec(p.path);
      if (match) {
        var row = body.querySelectorAll("tr")[Number(match[1])];
        target = row && row.querySelector('[data-f="' + match[2] + '"]');
      } else {
        target = form.querySelector('[data-path="' + p.path + '"]');
      }
      var note = document.createElement("div");
      note.className = "field-problem text-danger small";
      note.textContent = p.message;
      if (target) { target.parentNode.appendChild(note); }
      var item = document.createElement("li");
      item.textContent = p.path + ": " + p.message;
      list.appendChild(item);
    });
  }

  var timer = null;
  function changed() {
    document.getElementById("design").value = JSON.stringify(collect());
    clearTimeout(timer);
    timer = setTimeout(preview, 250);
  }

  function preview() {
    fetch(form.dataset.previewUrl, { method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify(collect()) })
      .then(function (r) { return r.json(); })
      .then(function (answer) { document.getElementById("preview").innerHTML = answer.html; showProblems(answer.problems); });
  }

  form.querySelectorAll("[data-key]").forEach(function (input) { input.value = spec[input.dataset.key] || ""; });
  (spec.fields || []).forEach(addRow);
  document.getElementById("checklist").value = (spec.checklist || []).map(function (c) { return c.zh + " | " + c.en; }).join("\n");
  form.querySelectorAll("[data-rule]").forEach(function (input) {
    var value = (spec.evidence_rules || {})[input.dataset.rule];
    if (input.type === "checkbox") { input.checked = !!value; } else if (value != null) { input.value = value; }
  });
  document.getElementById("add-field").addEventListener("click", function () {
    addRow({ name: "", type: "text", zh: "", en: "", required: false }); changed();
  });
  form.addEventListener("input", changed);
  form.addEventListener("change", changed);
  form.addEventListener("submit", function () { document.getElementById("design").value = JSON.stringify(collect()); });
  changed();
  var initial = JSON.parse(form.dataset.problems || "[]");
  if (initial.length) { setTimeout(function () { showProblems(initial); }, 400); }
})();
