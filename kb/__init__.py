"""Majakka's core library: settings, text analysis, models, search, answers and safety.

Importing it has no side effects; entry points call ``kb.environment.configure_environment()`` first.
"""
