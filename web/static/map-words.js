/* Leaflet and Leaflet.draw title their controls in English only. Loaded after them and before the page's own map
   script, this puts the reader's words (this tag's data-words, from web/common/widget_words.py) in their place:
   the zoom buttons, the layers button, Leaflet's credit, and every Leaflet.draw toolbar, action and hint. */
(function () {
  "use strict";
  if (!window.L) { return; }
  var words = JSON.parse(document.currentScript.dataset.words);

  L.Control.Zoom.mergeOptions({ zoomInTitle: words.zoom_in, zoomOutTitle: words.zoom_out });
  var credit = words.leaflet.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;");
  L.Control.Attribution.mergeOptions({  // Leaflet's own link in the corner: its tooltip
    prefix: L.Control.Attribution.prototype.options.prefix.replace(/title="[^"]*"/, 'title="' + credit + '"')
  });
  var layersLayout = L.Control.Layers.prototype._initLayout;
  L.Control.Layers.include({
    _initLayout: function () {
      layersLayout.call(this);
      this._layersLink.title = words.layers;  // Leaflet writes "Layers" here and has no option for it
      this._layersLink.setAttribute("aria-label", words.layers);
    }
  });

  function merge(into, from) {
    Object.keys(from).forEach(function (key) {
      if (typeof from[key] === "object" && typeof into[key] === "object") { merge(into[key], from[key]); }
      else { into[key] = from[key]; }
    });
  }
  if (words.draw && L.drawLocal) { merge(L.drawLocal, words.draw); }
})();
