"""Dialogues, their sessions and what the public pages list of them."""
