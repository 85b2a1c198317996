"""Loading documents of many formats and splitting them into passages."""
