// Ticks every task's countdown once a minute from its deadline (the server rendered the first value).
(function () {
  function tick() {
    document.querySelectorAll(".countdown").forEach(function (node) {
      var ms = new Date(node.dataset.deadline).getTime() - Date.now();
      var minutes = Math.floor(Math.abs(ms) / 60000);
      var text = Math.floor(minutes / 60) + ":" + String(minutes % 60).padStart(2, "0");
      node.textContent = (ms > 0 ? node.dataset.left : node.dataset.overdue) + " " + text;
    });
  }
  tick();
  setInterval(tick, 60000);
})();
