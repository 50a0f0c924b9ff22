// 到达现场: fill the arrival form with the phone's position before it is sent. Browsers give the location only
// in a secure context (HTTPS or localhost); elsewhere the page says so and the position is typed or taken from
// a photo of the task, and the form's source records which.
(function () {
  "use strict";
  var form = document.getElementById("arrival-form");
  if (!form) { return; }
  var source = document.getElementById("arrival-source");
  var lat = document.getElementById("arrival-lat");
  var lon = document.getElementById("arrival-lon");
  var accuracy = document.getElementById("arrival-accuracy");
  var status = document.getElementById("location-status");
  var located = !!(window.isSecureContext && navigator.geolocation);
  if (!located) {
    document.getElementById("location-insecure").hidden = false;
    if (source.value === "device") { source.value = "manual"; }
    source.querySelector("option[value=device]").disabled = true;
  }
  form.addEventListener("submit", function (event) {
    if (source.value !== "device" || form.dataset.located === "1") { return; }
    event.preventDefault();
    status.textContent = form.dataset.locating || "…";
    navigator.geolocation.getCurrentPosition(function (pos) {
      lat.value = pos.coords.latitude.toFixed(7);
      lon.value = pos.coords.longitude.toFixed(7);
      accuracy.value = Math.round(pos.coords.accuracy);
      form.dataset.located = "1";
      form.submit();
    }, function (error) {
      status.textContent = (form.dataset.failed || "") + " " + error.message;
      source.value = "manual";
    }, {enableHighAccuracy: true, timeout: 15000, maximumAge: 60000});
  });
}());
