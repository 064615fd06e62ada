"""The commissioners' web dashboard: sign-in by API key, a session cookie, server-rendered charts."""
