"""Alert rules and the insights they are evaluated against."""
