"""Open a QGIS project headless and print what QGIS made of it as JSON (run by the system's
``python3`` with ``python3-qgis``; see test_qgis_project.py): ``qgis_open.py PROJECT TOKEN``.

The token stands in for the authentication configuration a person adds in QGIS: every
request QGIS sends gets ``Authorization: Bearer TOKEN``."""

import json
import sys

from qgis.core import QgsApplication, QgsNetworkAccessManager, QgsProject


def main(path: str, token: str) -> None:
    app = QgsApplication([], False)
    app.initQgis()

    def authorize(request, *_args) -> None:
        request.setRawHeader(b"Authorization", f"Bearer {token}".encode())

    QgsNetworkAccessManager.setRequestPreprocessor(authorize)
    project = QgsProject.instance()
    out = {"read": project.read(path), "crs": project.crs().authid(), "layers": []}
    out["tree"] = project.layerTreeRoot().findLayerIds()
    for layer in project.mapLayers().values():
        renderer = layer.renderer()
        entry = {
            "id": layer.id(),
            "name": layer.name(),
            "valid": layer.isValid(),
            "provider": layer.providerType(),
            "renderer": renderer.type() if renderer else None,
            "labels": layer.labelsEnabled(),
        }
        if renderer and renderer.type() == "categorizedSymbol":
            entry["attr"] = renderer.classAttribute()
            entry["colors"] = {c.value(): c.symbol().color().name() for c in renderer.categories()}
        elif renderer and renderer.type() == "singleSymbol":
            entry["color"] = renderer.symbol().color().name()
        if layer.isValid() and layer.id() == "onemap_districts":
            entry["features"] = sum(1 for _ in layer.getFeatures())
        out["layers"].append(entry)
    print(json.dumps(out, ensure_ascii=False))
    app.exitQgis()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
