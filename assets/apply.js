// /apply: a click on the district map (or the phone's location) fills the venue's lon/lat.
(function () {
  "use strict";
  var map = document.getElementById("apply-map");
  if (!map) { return; }
  var pin = document.getElementById("apply-pin");
  var lon = document.getElementById("lon"), lat = document.getElementById("lat");
  var d = map.dataset, x0 = +d.x0, y1 = +d.y1, squash = +d.squash, scale = +d.scale;

  function place() {
    var x = +lon.value, y = +lat.value;
    if (!isFinite(x) || !isFinite(y) || !lon.value || !lat.value) { return; }
    pin.setAttribute("cx", (x - x0) * squash * scale);
    pin.setAttribute("cy", (y1 - y) * scale);
  }

  map.addEventListener("click", function (ev) {
    var pt = map.createSVGPoint();
    pt.x = ev.clientX; pt.y = ev.clientY;
    var at = pt.matrixTransform(map.getScreenCTM().inverse());
    lon.value = (x0 + at.x / scale / squash).toFixed(6);
    lat.value = (y1 - at.y / scale).toFixed(6);
    place();
  });
  lon.addEventListener("input", place);
  lat.addEventListener("input", place);
  place();
})();
