"""Checks of this family (filled in by its issue)."""

from __future__ import annotations
