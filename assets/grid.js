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
  function layers(bounds, zoom, refresh, grid, history, live, ids, meta, center) {
    meta = withHistory(meta, history);
    var dc = window.dash_clientside;
    zoom = fittedZoom(bounds, zoom, meta);
    var trigger = dc.callback_context.triggered.map(function (t) { return t.prop_id; });
    var again = trigger.indexOf("grid-refresh.data") >= 0 || trigger.indexOf("grid-live.data") >= 0;
    if (again && window.onemap && window.onemap.forgetLayers) {
      window.onemap.forgetLayers(["incidents"]);
    }
    var area = typeof grid === "number" ? {id: grid} : null;
    var tick = (refresh || 0) + "-" + ((live && live.n) || 0);
    var out = dc.onemap.layerData(bounds, zoom, [meta.shown], null, area, tick, ids, meta,
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

  /* --- live tasks: the stream (assets/onemap_live.js) brings the changes of incidents in the
   * worker's grids only (the server filters by the viewer's scope). A change sets the
   * "grid-live" store, which refetches the task list and the map; a task that is new or back at
   * the grid as reported is also a cue: the server marks it on screen, and a short tone plays
   * once the worker has touched the page (browsers allow sound only after a gesture). */
  var PAGE = "grid-page";     /* pages.grid_ids.PAGE */
  var LIVE = "grid-live";     /* pages.grid_ids.LIVE */
  var cue = {n: 0, played: 0, unlocked: false, context: null};

  function unlock() {
    if (cue.context) { return; }
    var Audio = window.AudioContext || window.webkitAudioContext;
    if (!Audio) { return; }
    cue.context = new Audio();
    cue.context.resume().then(function () { cue.unlocked = cue.context.state === "running"; });
  }

  /* Two short rising tones (660 Hz then 880 Hz), made here: no audio file is fetched. */
  function tone() {
    if (!cue.unlocked || !cue.context) { return; }
    var ctx = cue.context;
    [[660, 0], [880, 0.18]].forEach(function (step) {
      var osc = ctx.createOscillator();
      var gain = ctx.createGain();
      var start = ctx.currentTime + step[1];
      osc.type = "sine";
      osc.frequency.value = step[0];
      gain.gain.setValueAtTime(0.0001, start);
      gain.gain.exponentialRampToValueAtTime(0.3, start + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, start + 0.16);
      osc.connect(gain).connect(ctx.destination);
      osc.start(start);
      osc.stop(start + 0.17);
    });
    cue.played += 1;
  }

  /* A new incident, or one back at the grid waiting (returned, reopened): worth a cue. */
  function arrives(message) {
    return message.level === "grid" && message.status === "reported" &&
      (message.op === "insert" || message.op === "update");
  }

  function onLive(message) {
    if (message.kind !== "event" && message.kind !== "reset") { return; }
    if (!document.getElementById(PAGE) || !window.dash_clientside ||
        !window.dash_clientside.set_props) { return; }
    var isCue = message.kind === "event" && arrives(message);
    cue.n += 1;
    window.dash_clientside.set_props(LIVE, {data: {n: cue.n, event: message.id || null,
                                                   cue: isCue}});
    if (isCue) { tone(); }
  }

  ["pointerdown", "keydown", "touchstart"].forEach(function (type) {
    document.addEventListener(type, unlock, {capture: true, passive: true});
  });
  function listen() {
    var live = window.onemap && window.onemap.live;
    if (!live || !live.listeners) { setTimeout(listen, 50); return; }
    if (live.listeners.indexOf(onLive) < 0) { live.listeners.push(onLive); }
  }
  listen();

  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    onemapGrid: {layers: layers, pick: pick}
  });
  window.onemapGrid = {cue: cue};
})();
