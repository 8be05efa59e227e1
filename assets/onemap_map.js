/* OneMap map glue: functions dash-leaflet calls by name ({"variable": "onemap.map.<fn>"}).
 * Each receives the GeoJSON component's props last; everything comes from props.hideout. */
(function () {
  "use strict";

  function escapeHtml(value) {
    return String(value).replace(/[&<>"']/g, function (c) {
      return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c];
    });
  }

  /* The ramp colour of an aggregate: the server's `level` (0..5), else a log scale. */
  function aggregateColor(p, colors) {
    var step = p.level !== undefined ? p.level :
      Math.floor(Math.log10(Math.max(p.count || 1, 1)) * 2);
    return colors[Math.max(0, Math.min(colors.length - 1, step))];
  }

  function heatStyle(p, h) {
    var colors = h.aggregateColors || ["#f97316"];
    var level = p.level || 0;
    return {
      stroke: false, fillColor: aggregateColor(p, colors), fillOpacity: 0.28 + level * 0.07,
      radius: 10 + level * 4, className: "onemap-heat"
    };
  }

  function style(feature, context) {
    var h = context.hideout || {};
    var p = feature.properties || {};
    if (p.heat || h.heat) {
      return heatStyle(p, h);
    }
    if (p.aggregate) {
      var fill = aggregateColor(p, h.aggregateColors || ["#3b82f6"]);
      var base = {stroke: false, fillColor: fill, fillOpacity: 0.5};
      if (p.building !== undefined) {
        base = {color: "#0b1220", weight: 0.5, stroke: true, fillColor: fill, fillOpacity: 0.85};
      } else if (p.area !== undefined) {
        base = {color: fill, weight: 1, stroke: true, fillColor: fill, fillOpacity: 0.45};
      }
      if (p.suppressed) {
        base.fillColor = "#1e293b";
      }
      return base;
    }
    var s = Object.assign({}, h.style || {});
    var value = h.styleBy ? p[h.styleBy] : undefined;
    var color = value !== undefined && h.colors ? h.colors[value] : undefined;
    if (color) {
      var kind = (feature.geometry && feature.geometry.type) || "";
      s.fillColor = color;
      if (/Line/.test(kind) || !(h.style || {}).color) {
        s.color = color;
      }
    }
    if (value !== undefined && h.valueStyle && h.valueStyle[value]) {
      Object.assign(s, h.valueStyle[value]);
    }
    return s;
  }

  /* Points are drawn as circle markers (SVG paths, no image icons from anywhere). */
  function pointToLayer(feature, latlng, context) {
    var s = style(feature, context);
    return L.circleMarker(latlng, s);
  }

  var formatters = {};

  /* A formatter of instants in the IANA zone `zone` (the browser's own tz data: offline). */
  function formatter(zone) {
    if (!formatters[zone]) {
      formatters[zone] = new Intl.DateTimeFormat("en-GB", {
        timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit",
        hour: "2-digit", minute: "2-digit", hourCycle: "h23"
      });
    }
    return formatters[zone];
  }

  /* "YYYY-MM-DD HH:MM" of an ISO 8601 instant in the city's zone (hideout.timeZone); a time
   * without an offset names no instant and is shown as written. */
  function cityTime(value, zone) {
    var instant = new Date(value);
    if (!zone || !/(Z|[+-]\d\d:?\d\d)$/.test(value) || isNaN(instant.getTime())) {
      return value.slice(0, 16).replace("T", " ");
    }
    var p = {};
    formatter(zone).formatToParts(instant).forEach(function (part) { p[part.type] = part.value; });
    return p.year + "-" + p.month + "-" + p.day + " " + p.hour + ":" + p.minute;
  }

  function valueText(name, value, h) {
    var labels = (h.valueLabels || {})[name];
    if (labels && labels[value] !== undefined) {
      return labels[value];
    }
    if (typeof value === "string" && /^\d{4}-\d\d-\d\dT\d\d:\d\d/.test(value)) {
      return cityTime(value, h.timeZone);
    }
    return value;
  }

  function label(p, h) {
    if (h.lang === "en" && h.labelEn && p[h.labelEn]) {
      return p[h.labelEn];
    }
    return h.label ? valueText(h.label, p[h.label], h) : null;
  }

  /* The property a popup row shows: its English twin on English pages when the feature has one. */
  function popupName(f, p, h) {
    var en = h.lang === "en" && f.nameEn;
    return en && p[en] !== null && p[en] !== undefined && p[en] !== "" ? en : f.name;
  }

  function popupHtml(p, h) {
    var rows = (h.popup || []).filter(function (f) {
      var v = p[popupName(f, p, h)];
      return v !== null && v !== undefined && v !== "";
    }).map(function (f) {
      var name = popupName(f, p, h);
      return "<tr><th>" + escapeHtml(f.label) + "</th><td>" +
        escapeHtml(valueText(name, p[name], h)) + "</td></tr>";
    });
    return "<table class=\"onemap-popup\">" + rows.join("") + "</table>";
  }

  /* "120 栋建筑", "86 人 · 占比 12%", "3.4 每平方公里" … for an aggregate feature. */
  function aggregateText(p, h) {
    var s = h.strings || {};
    var text = p.count + " " + (h.unit || s["map.count"] || "");
    if (p.name) {
      text = (h.lang === "en" && p.name_en ? p.name_en : p.name) + " · " + text;
    }
    if (p.suppressed) {
      return text + " · " + (s["map.suppressed"] || "");
    }
    if (p.share !== undefined && p.share !== null) {
      text += " · " + (s["map.share"] || "") + " " + (p.share * 100).toFixed(1) + "%";
    }
    if (p.metric === "density") {
      text += " · " + p.value + " " + (s["map.per_km2"] || "");
    }
    return text;
  }

  function base() {
    try {
      var config = JSON.parse(document.getElementById("_dash-config").textContent);
      return config.requests_pathname_prefix || "/";
    } catch (e) {
      return "/";
    }
  }

  /* An incident's photos in its popup, for viewers who may see them: the server lists only
   * those (GET api/photos?incident=<id>; none for other roles or areas), thumbnails link to
   * the photo. */
  function showPhotos(popup, eventId, h) {
    var url = base() + "api/photos?incident=" + encodeURIComponent(eventId);
    fetch(url, {cache: "no-store", credentials: "same-origin"})
      .then(function (r) { return r.ok ? r.json() : {photos: []}; })
      .then(function (body) {
        var html = popup.getContent();
        if (typeof html !== "string" || !(body.photos || []).length ||
            html.indexOf("onemap-popup-photos") >= 0) {
          return;
        }
        var s = h.strings || {};
        var box = document.createElement("div");
        box.className = "onemap-popup-photos";
        var title = document.createElement("div");
        title.className = "onemap-popup-photos-title";
        title.textContent = s["map.photos"] || "";
        box.appendChild(title);
        body.photos.forEach(function (photo) {
          var link = document.createElement("a");
          link.href = base() + "api/photos/" + photo.id;
          link.target = "_blank";
          link.rel = "noopener";
          link.className = "onemap-popup-photo";
          link.setAttribute("data-photo", String(photo.id));
          var img = document.createElement("img");
          img.src = link.href + "?size=thumb";
          img.alt = s["map.photo_" + photo.kind] || "";
          var caption = document.createElement("span");
          caption.textContent = s["map.photo_" + photo.kind] || "";
          link.appendChild(img);
          link.appendChild(caption);
          box.appendChild(link);
        });
        popup.setContent(html + box.outerHTML);  /* kept when Leaflet redraws the popup */
      }, function () { /* no photos shown when the request fails */ });
  }

  function onEachFeature(feature, layer, context) {
    var h = context.hideout || {};
    var p = feature.properties || {};
    if (p.aggregate) {
      layer.bindTooltip(escapeHtml(aggregateText(p, h)), {sticky: true, className: "onemap-tooltip"});
      return;
    }
    var name = label(p, h);
    if (name) {
      layer.bindTooltip(escapeHtml(name), {sticky: true, className: "onemap-tooltip"});
    }
    if ((h.popup || []).length) {
      layer.bindPopup(popupHtml(p, h), {className: "onemap-popup-wrap"});
      if (h.layer === "incidents" && feature.id !== undefined && feature.id !== null) {
        layer.on("popupopen", function (e) { showPhotos(e.popup, feature.id, h); });
      }
    }
  }

  window.onemap = window.onemap || {};
  window.onemap.map = {style: style, onEachFeature: onEachFeature, pointToLayer: pointToLayer,
    cityTime: cityTime};
})();
