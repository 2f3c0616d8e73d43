"""Staff accounts, sign-in and web sessions, reading content and triage."""
