"""Majakka's HTTP API and the embeddable widget."""
