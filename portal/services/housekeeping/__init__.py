"""Clean-up the portal does by itself: what interrupted runs and expired data leave behind."""
