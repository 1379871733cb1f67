"""Hotspots, emerging hotspots, three colours and three lists, chronic cases and period reports.

Counting and aggregation run in PostGIS; Python only does the statistics (geo.analytics.stats).
Every function takes the requester's area (a grid-code prefix) and never looks outside it.
"""
