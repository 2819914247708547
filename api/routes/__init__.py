"""Routes, grouped by who uses them."""
