"""The b9 command line."""
