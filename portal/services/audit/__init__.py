"""Appending to, verifying and listing the hash-chained audit trail."""
