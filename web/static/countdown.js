// Ticks every task's countdown once a minute from its deadline (the server rendered the first value).
(function () {
  function tick() {
    document.querySelectorAll(".countdown").forEach(function (node) {
      var ms = new Date(node.dataset.deadline).getTime() - Date.now();
      var minutes = Math.floor(Math.abs(ms) / 60000);
      var h = Math.floor(minutes / 60), m = minutes % 60;  // worded as web/common/display.py duration()
      var form = h === 0 ? node.dataset.minutes : (m === 0 ? node.dataset.hours : node.dataset.hoursMinutes);
      var text = form.replace("{h}", h).replace("{m}", m);
      node.textContent = (ms > 0 ? node.dataset.left : node.dataset.overdue) + " " + text;
    });
  }
  tick();
  setInterval(tick, 60000);
})();
