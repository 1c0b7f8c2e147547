"""Printed reports (学校 / 区级 / 班级质量分析报告, 学生档案).

The content is assembled from the analyses and the reports of :mod:`analytics.reports` into a
neutral :class:`~analytics.documents.model.Document` (headings, paragraphs, tables, charts),
then rendered to Word, PDF or HTML (:mod:`analytics.documents.render`).

This package sits above :mod:`analytics.reports` and the analyses (an import-linter contract):
it computes no statistic of its own; its plain-word sentences restate the analyses' levels and
intervals, and every code it prints goes through :func:`analytics.domain.label`.
"""
