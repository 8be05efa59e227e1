/* Analyst page glue: answer points as circle markers (SVG, no marker images from anywhere). */
window.onemapAnalyze = Object.assign({}, window.onemapAnalyze, {
  point: function (feature, latlng) {
    return L.circleMarker(latlng, {
      radius: 6, color: "#f97316", weight: 2, fillColor: "#fb923c", fillOpacity: 0.8,
    });
  },
});
