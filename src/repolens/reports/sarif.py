"""SARIF 2.1.0, in the shape GitHub code scanning accepts: one run, one rule
per (analyzer, rule id), `security-severity` on security rules, and our
fingerprints as partial fingerprints so alerts survive line moves."""

from __future__ import annotations

import json
from typing import Any

from repolens.analyzers.base import Category, Finding, Severity
from repolens.reports.model import Report

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVEL = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}
_SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
    Severity.INFO: "0.0",
}
_SECURITY = (Category.SECURITY, Category.SECRETS)


def rule_id(finding: Finding) -> str:
    return f"{finding.analyzer}/{finding.rule_id}"


def render(report: Report) -> bytes:
    return json.dumps(document(report), indent=2).encode("utf-8")


def document(report: Report) -> dict[str, Any]:
    rules: dict[str, dict[str, Any]] = {}
    results = []
    for finding in report.findings:
        key = rule_id(finding)
        if key not in rules:
            rules[key] = _rule(finding)
        results.append(_result(finding, list(rules).index(key)))
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "repolens",
                "version": report.tool_version,
                "informationUri": "https://pypi.org/project/repolens/",
                "rules": list(rules.values()),
            }
        },
        "results": results,
        "columnKind": "unicodeCodePoints",
        "automationDetails": {"id": "repolens/"},
        "invocations": [
            {
                "executionSuccessful": all(s.status != "failed" for s in report.steps),
                "toolExecutionNotifications": [
                    {"level": "error", "message": {"text": f"{s.analyzer}: {s.error}"}}
                    for s in report.steps
                    if s.status == "failed"
                ]
                + [
                    {"level": "warning", "message": {"text": f"partial scan: {reason}"}}
                    for reason in (report.coverage.reasons if report.coverage else [])
                    if not reason.startswith("analyzer ")
                ],
            }
        ],
    }
    if report.target.commit and "://" in report.target.label:
        run["versionControlProvenance"] = [
            {"repositoryUri": report.target.label, "revisionId": report.target.commit}
        ]
    return {"$schema": SCHEMA, "version": "2.1.0", "runs": [run]}


def _rule(finding: Finding) -> dict[str, Any]:
    tags = [finding.category.value, finding.analyzer]
    if finding.cwe:
        tags.append(f"external/cwe/cwe-{finding.cwe}")
    properties: dict[str, Any] = {
        "tags": list(dict.fromkeys(tags)),
        "precision": finding.confidence.value,
    }
    if finding.category in _SECURITY:
        properties["security-severity"] = _SECURITY_SEVERITY[finding.severity]
    rule: dict[str, Any] = {
        "id": rule_id(finding),
        "name": finding.rule_id,
        "shortDescription": {"text": finding.title or finding.rule_id},
        "defaultConfiguration": {"level": _LEVEL[finding.severity]},
        "properties": properties,
    }
    if finding.links:
        rule["helpUri"] = finding.links[0]
    return rule


def _result(finding: Finding, index: int) -> dict[str, Any]:
    location: dict[str, Any] = {"artifactLocation": {"uri": finding.path, "uriBaseId": "%SRCROOT%"}}
    if finding.line:
        region: dict[str, Any] = {"startLine": finding.line}
        if finding.column:
            region["startColumn"] = max(1, finding.column)
        if finding.end_line and finding.end_line >= finding.line:
            region["endLine"] = finding.end_line
            later_line = finding.end_line > finding.line
            if finding.end_column and (later_line or finding.end_column >= (finding.column or 1)):
                region["endColumn"] = max(1, finding.end_column)
        if finding.snippet:
            region["snippet"] = {"text": finding.snippet}
        location["region"] = region
    result: dict[str, Any] = {
        "ruleId": rule_id(finding),
        "ruleIndex": index,
        "level": _LEVEL[finding.severity],
        "message": {"text": finding.message or finding.title},
        "locations": [{"physicalLocation": location}],
        "partialFingerprints": {"repolens/v1": finding.fingerprint},
        "properties": {"severity": finding.severity.value, "category": finding.category.value},
    }
    if finding.fix:
        result["properties"]["fix"] = finding.fix
    if finding.evidence:
        result["properties"]["evidence"] = list(finding.evidence)
    return result
