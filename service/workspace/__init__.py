"""The workspace: web pages where officers and providers do the day's work (CONTRACT section 5)."""
