"""Benchmarks that print figures. They assert nothing: the test suite checks behaviour."""
