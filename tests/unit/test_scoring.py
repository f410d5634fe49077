from __future__ import annotations

from repolens.analyzers.base import Category, Finding, Severity
from repolens.scoring import score


def finding(severity: Severity, category: Category = Category.SECURITY) -> Finding:
    return Finding("t", "r", "t", "m", category, severity, "a.py", line=1)


def test_a_clean_repository_scores_100_with_grade_a() -> None:
    result = score([], lines=5000)
    assert (result.score, result.grade) == (100, "A")
    assert all(grade.grade == "A" for grade in result.categories)


def test_the_score_follows_the_documented_formula() -> None:
    # 2 high (20 points) over 1 KLOC: density 20, score 100 * 20 / 40 = 50.
    result = score([finding(Severity.HIGH), finding(Severity.HIGH)], lines=1000)
    assert (result.points, result.density, result.score, result.grade) == (20, 20.0, 50, "F")
    assert "= 50" in result.explanation


def test_density_is_per_thousand_lines() -> None:
    small = score([finding(Severity.MEDIUM)] * 10, lines=1000).score
    large = score([finding(Severity.MEDIUM)] * 10, lines=100_000).score
    assert small < large


def test_a_critical_finding_caps_the_score() -> None:
    result = score([finding(Severity.CRITICAL)], lines=1_000_000)
    assert result.score == 59
    assert "capped" in result.explanation


def test_categories_are_graded_separately() -> None:
    result = score([finding(Severity.HIGH, Category.SECRETS)] * 3, lines=1000)
    grades = {g.category: g for g in result.categories}
    assert grades[Category.SECRETS].findings == 3
    assert grades[Category.SECRETS].grade == "F"
    assert grades[Category.STYLE].grade == "A"


def test_info_findings_cost_nothing() -> None:
    assert score([finding(Severity.INFO)] * 50, lines=1000).score == 100
