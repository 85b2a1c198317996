"""README.md and the settings stay in step."""

from __future__ import annotations

from kb.config import PROJECT_ROOT, settings_rows


def test_docs_readme_lists_every_setting_with_its_default() -> None:
    """Regenerate the table with `python -m kb.config` when a setting changes."""
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    for variable, default, meaning in settings_rows():
        shown = f"`{default}`" if default else "(none)"
        assert f"| `{variable}` | {shown} | {meaning} |" in readme, variable


def test_docs_readme_gives_the_two_commands_ci_runs() -> None:
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    assert "make run" in readme and "make test" in readme
    assert "make test" in (PROJECT_ROOT / ".ci" / "run").read_text(encoding="utf-8")
