/* Grid worker's page (/grid): clientside glue, namespace "onemapGrid".
 * The map's layers load through the home map's viewport loader (onemap.layerData in
 * onemap_clientside.js) against /api/layers, which the server scopes to the viewer's grids. */
(function () {
  "use strict";

  /* The zoom at which `bounds` span the map element's width (the map fits its bounds, so its
   * zoom prop can lag behind a fit). */
  function fittedZoom(bounds, zoom, meta) {
    var el = document.getElementById(meta.map);
    if (!bounds || !el || !el.clientWidth) {
      return zoom;
    }
    var span = Math.max(bounds[1][1] - bounds[0][1], 1e-6);
    var fitted = Math.log2(360 * el.clientWidth / (256 * span));
    return Math.round(Math.min(19, Math.max(8, fitted)) * 100) / 100;
  }

  /* The layer meta with the incidents' status filter dropped when closed history is shown
   * (by default the map draws open work only). */
  function withHistory(meta, history) {
    if (!history || history.indexOf("closed") < 0 || !meta.layers.incidents) {
      return meta;
    }
    var layersMeta = Object.assign({}, meta.layers);
    layersMeta.incidents = Object.assign({}, layersMeta.incidents, {query: {}});
    return Object.assign({}, meta, {layers: layersMeta});
  }

  /* Layer data for the grid map; after an action (refresh) the incidents are fetched again. */
  function layers(bounds, zoom, refresh, grid, history, ids, meta, center) {
    meta = withHistory(meta, history);
    var dc = window.dash_clientside;
    zoom = fittedZoom(bounds, zoom, meta);
    var trigger = dc.callback_context.triggered.map(function (t) { return t.prop_id; });
    if (trigger.indexOf("grid-refresh.data") >= 0 && window.onemap && window.onemap.forgetLayers) {
      window.onemap.forgetLayers(["incidents"]);
    }
    var area = typeof grid === "number" ? {id: grid} : null;
    var out = dc.onemap.layerData(bounds, zoom, [meta.shown], null, area, refresh, ids, meta,
                                  center, null, {});
    return Promise.resolve(out).then(function (result) { return result[0]; });
  }

  /* The report location: a tap on the map, or the device's position (browser geolocation). */
  function pick(click, locateClicks) {
    var dc = window.dash_clientside;
    var trigger = dc.callback_context.triggered[0];
    if (!trigger) {
      return dc.no_update;
    }
    if (trigger.prop_id.indexOf("grid-locate") === 0) {
      if (!navigator.geolocation) {
        return dc.no_update;
      }
      return new Promise(function (resolve) {
        navigator.geolocation.getCurrentPosition(function (pos) {
          resolve({lat: pos.coords.latitude, lon: pos.coords.longitude, source: "device"});
        }, function () {
          resolve(dc.no_update);
        }, {enableHighAccuracy: true, timeout: 10000});
      });
    }
    if (!click || !click.latlng) {
      return dc.no_update;
    }
    return {lat: click.latlng.lat, lon: click.latlng.lng, source: "map"};
  }

  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    onemapGrid: {layers: layers, pick: pick}
  });
})();
