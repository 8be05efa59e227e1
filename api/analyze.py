"""``POST /api/analyze`` (JSON question → JSON answer) and ``POST /api/analyze.csv``.

The body is a question (see :mod:`analytics.question_spec`); the answer is a GeoJSON
FeatureCollection with a ``table`` (columns with zh/en labels, rows) and metadata, or the table
as a CSV download. The viewer comes only from :func:`web.context.viewer`. A question that
cannot be asked answers 400 with ``error``, ``code``, zh/en ``title`` and ``path``; one that
runs past the statement timeout answers 504 (:func:`web.errors.json_error`); beyond the
caller's or the app's limit of heavy work, 429 with ``Retry-After`` (:mod:`web.heavy`).
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request
from flask.typing import ResponseReturnValue

from analytics.question_spec import QuestionError
from analytics.questions import AnalysisAnswer, ask
from web import context, heavy

blueprint = Blueprint("analyze_api", __name__, url_prefix="/api")

MAX_BODY_BYTES = 512 * 1024
"""Largest question body (a drawn polygon of the allowed vertex count fits easily)."""


def _question() -> object:
    """The JSON body of the request; :class:`QuestionError` when it is not JSON."""
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        raise QuestionError("question", "too_large", f"the body exceeds {MAX_BODY_BYTES} bytes")
    body = request.get_json(silent=True)
    if body is None:
        raise QuestionError("question", "bad_spec", "send the question as a JSON object body")
    return body


def _answer() -> AnalysisAnswer:
    """The answer, asked in a heavy-work slot of the caller (:mod:`web.heavy`: 429 beyond)."""
    question = _question()
    with heavy.slot():
        return ask(context.read_url(), question, context.viewer(), context.settings())


@blueprint.post("/analyze")
def analyze() -> ResponseReturnValue:
    """The answer to the posted question, as JSON."""
    return jsonify(_answer().as_dict())


@blueprint.post("/analyze.csv")
def analyze_csv() -> ResponseReturnValue:
    """The answer's table as a CSV download (UTF-8 with BOM, so spreadsheet tools read zh)."""
    answer = _answer()
    name = f"onemap-{answer.meta['layer']}-analysis.csv"
    return Response(
        "\ufeff" + answer.to_csv(),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "X-Feature-Count": str(len(answer.rows)),
        },
    )
