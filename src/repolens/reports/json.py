"""The JSON report: the `Report` document itself (schema in docs/report-format.md)."""

from __future__ import annotations

from typing import Any

from repolens.reports.model import Report


def render(report: Report) -> bytes:
    return report.model_dump_json(indent=2).encode("utf-8")


def schema() -> dict[str, Any]:
    """The JSON Schema of the report document, for consumers to validate against."""
    document = Report.model_json_schema(mode="serialization")
    document["$id"] = f"repolens-report-v{Report.model_fields['schema_version'].default}"
    return document
