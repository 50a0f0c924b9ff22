// Replay page: the version fields show only when two versions are compared; a running replay's bar is
// polled from its status JSON and the page reloads when the job ends (no inline script: the CSP allows 'self').
(function () {
  var compare = document.getElementById("compare");
  var versions = document.getElementById("replay-versions");
  if (compare && versions) {
    var toggle = function () { versions.hidden = compare.value !== "versions"; };
    compare.addEventListener("change", toggle);
    toggle();
  }
  var box = document.getElementById("replay-progress");
  if (!box || box.dataset.finished === "yes") { return; }
  var bar = box.querySelector(".progress-bar");
  function show(state) {
    ["label", "done", "total"].forEach(function (key) {
      var node = box.querySelector('[data-field="' + key + '"]');
      if (node && state[key] !== null && state[key] !== undefined) { node.textContent = state[key]; }
    });
    box.querySelector('[data-field="cancel_requested"]').hidden = !state.cancel_requested;
    var share = state.total ? Math.round(100 * state.done / state.total) : 0;
    bar.style.width = share + "%";
    bar.setAttribute("aria-valuenow", share);
    return !state.finished;
  }
  function poll() {
    fetch(box.dataset.url, { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (state) { if (show(state)) { setTimeout(poll, 700); } else { location.reload(); } })
      .catch(function () { setTimeout(poll, 2000); });
  }
  poll();
})();
