"""Reports: per-recipient exports (CSV, XLSX) and charts (matplotlib, imported lazily)."""

from infrastructure.reports.charts import MatplotlibChartDrawer
from infrastructure.reports.export import open_report_writer

__all__ = ["MatplotlibChartDrawer", "open_report_writer"]
