"""The JSON APIs: cowin_v2, compatible with CoWIN's public API v2."""
