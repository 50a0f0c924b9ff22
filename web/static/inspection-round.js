// The inspection pages' location: the phone's position on a secure page (gps), else a notice; coordinates typed by
// hand are a pin. The server falls back to a photo's EXIF position and refuses a finding without one where required.
(function () {
  var notice = document.getElementById('location-notice');
  var status = document.getElementById('location-status');
  var forms = Array.prototype.slice.call(document.querySelectorAll('form[data-locate]'));
  forms.forEach(function (form) {
    ['lat', 'lon'].forEach(function (name) {
      var input = form.querySelector('input[name=' + name + ']:not([type=hidden])');
      if (input) {
        input.addEventListener('input', function () {
          form.dataset.pinned = '1';
          form.querySelector('input[name=location_source]').value = 'pin';
        });
      }
    });
  });
  if (!window.isSecureContext || !navigator.geolocation) {
    if (notice) { notice.hidden = false; }
    forms.forEach(function (form) {
      var hidden = form.querySelector('input[name=location_source][type=hidden]');
      if (!form.querySelector('input[name=lat]:not([type=hidden])') && hidden) { hidden.value = 'pin'; }
    });
    return;
  }
  if (status) { status.textContent = status.dataset.waiting; }
  navigator.geolocation.watchPosition(function (position) {
    forms.forEach(function (form) {
      if (form.dataset.pinned) { return; }
      form.querySelector('input[name=lat]').value = position.coords.latitude.toFixed(6);
      form.querySelector('input[name=lon]').value = position.coords.longitude.toFixed(6);
      form.querySelector('input[name=location_source]').value = 'gps';
    });
    if (status) {
      status.textContent = status.dataset.found + ' ' + position.coords.latitude.toFixed(5) + ', ' +
        position.coords.longitude.toFixed(5) + ' (±' + Math.round(position.coords.accuracy) + ' m)';
    }
  }, function () {
    if (status) { status.textContent = status.dataset.failed; }
  }, {enableHighAccuracy: true, timeout: 15000, maximumAge: 30000});
}());
