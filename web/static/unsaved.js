/* Warn before leaving an editor with unsaved changes. A form marked data-warn-unsaved turns dirty
   (data-dirty="1") on any edit and clean when it is submitted; one marked data-warn-unsaved="script"
   saves by script and keeps data-dirty itself (the list editor). */
(function () {
  "use strict";
  var forms = Array.prototype.slice.call(document.querySelectorAll("form[data-warn-unsaved]"));
  forms.forEach(function (form) {
    if (form.dataset.warnUnsaved === "script") { return; }
    var dirty = function () { form.dataset.dirty = "1"; };
    form.addEventListener("input", dirty);
    form.addEventListener("change", dirty);
    form.addEventListener("click", function (e) {  // adding, removing or moving a field is an edit too
      if (e.target.closest && e.target.closest("button[type=button]")) { dirty(); }
    });
    form.addEventListener("submit", function () { form.dataset.dirty = ""; });
  });
  window.addEventListener("beforeunload", function (e) {
    if (!forms.some(function (form) { return form.dataset.dirty === "1"; })) { return undefined; }
    e.preventDefault();
    e.returnValue = "";  // browsers show their own words; the empty string asks them to
    return "";
  });
}());
