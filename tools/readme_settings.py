"""Rewrite the settings table of README.md from kb.config (run after adding or changing a setting)."""

from __future__ import annotations

import re

from kb.config import PROJECT_ROOT, settings_table

readme = PROJECT_ROOT / "README.md"
text = readme.read_text(encoding="utf-8")
table = re.compile(r"\| variable \| default \| meaning \|\n\|---\|---\|---\|\n(?:\| `KB_[^\n]*\n)+")
readme.write_text(table.sub(settings_table() + "\n", text, count=1), encoding="utf-8")
