// Polls an import's progress and moves the bar until the job ends (no inline script: the CSP allows 'self').
(function () {
  var box = document.getElementById("import-progress");
  if (!box) { return; }
  var bar = box.querySelector(".progress-bar");
  function show(state) {
    Object.keys(state).forEach(function (key) {
      var node = box.querySelector('[data-field="' + key + '"]');
      if (node && state[key] !== null) { node.textContent = state[key]; }
    });
    var share = state.total ? Math.round(100 * state.processed / state.total) : 0;
    bar.style.width = share + "%";
    bar.setAttribute("aria-valuenow", share);
    return ["done", "failed", "cancelled"].indexOf(state.status) < 0;
  }
  function poll() {
    fetch(box.dataset.url, { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (state) { if (show(state)) { setTimeout(poll, 1000); } else { location.reload(); } })
      .catch(function () { setTimeout(poll, 3000); });
  }
  poll();
})();
