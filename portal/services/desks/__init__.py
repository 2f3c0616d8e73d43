"""Desks: who sits on them, their keys and grants, review mode and need-to-know."""
