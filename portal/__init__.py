"""The accountants' portal (/contador): linked companies' notes, totals, exports (issue 12)."""
