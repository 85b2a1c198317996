"""Answers: curated answer cards, question analysis, extract composition, citations and parallel passages."""
