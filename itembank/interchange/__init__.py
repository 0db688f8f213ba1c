"""Item interchange: QTI 3.0 and 2.1/2.2 (single items and content packages), XLSX and CSV.

Readers turn files into ``ParsedItem`` records or per-item ``ImportLine`` problems and
never touch the database; ``bank`` validates the lot and writes all of it or nothing.
"""
