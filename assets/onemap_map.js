/* OneMap map glue: functions dash-leaflet calls by name ({"variable": "onemap.map.<fn>"}).
 * Each receives the GeoJSON component's props last; everything comes from props.hideout. */
(function () {
  "use strict";

  function escapeHtml(value) {
    return String(value).replace(/[&<>"']/g, function (c) {
      return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c];
    });
  }

  function aggregateColor(count, colors) {
    var step = Math.min(colors.length - 1, Math.floor(Math.log10(Math.max(count, 1)) * 2));
    return colors[step];
  }

  function style(feature, context) {
    var h = context.hideout || {};
    var s = Object.assign({}, h.style || {});
    var p = feature.properties || {};
    if (p.aggregate) {
      var fill = aggregateColor(p.count, h.aggregateColors || ["#3b82f6"]);
      return {stroke: false, fillColor: fill, fillOpacity: 0.45};
    }
    if (h.styleBy && h.colors && h.colors[p[h.styleBy]]) {
      s.fillColor = h.colors[p[h.styleBy]];
    }
    return s;
  }

  function label(p, h) {
    if (h.lang === "en" && h.labelEn && p[h.labelEn]) {
      return p[h.labelEn];
    }
    return p[h.label];
  }

  function displayValue(name, value, h) {
    if (name === h.styleBy && h.valueLabels && h.valueLabels[value]) {
      return h.valueLabels[value];
    }
    return value;
  }

  function popupHtml(p, h) {
    var rows = (h.popup || []).filter(function (f) {
      return p[f.name] !== null && p[f.name] !== undefined && p[f.name] !== "";
    }).map(function (f) {
      return "<tr><th>" + escapeHtml(f.label) + "</th><td>" +
        escapeHtml(displayValue(f.name, p[f.name], h)) + "</td></tr>";
    });
    return "<table class=\"onemap-popup\">" + rows.join("") + "</table>";
  }

  function onEachFeature(feature, layer, context) {
    var h = context.hideout || {};
    var p = feature.properties || {};
    if (p.aggregate) {
      var counted = p.count + " " + ((h.strings || {})["map.count"] || "");
      layer.bindTooltip(escapeHtml(counted), {sticky: true, className: "onemap-tooltip"});
      return;
    }
    var name = label(p, h);
    if (name) {
      layer.bindTooltip(escapeHtml(name), {sticky: true, className: "onemap-tooltip"});
    }
    if ((h.popup || []).length) {
      layer.bindPopup(popupHtml(p, h), {className: "onemap-popup-wrap"});
    }
  }

  window.onemap = window.onemap || {};
  window.onemap.map = {style: style, onEachFeature: onEachFeature};
})();
