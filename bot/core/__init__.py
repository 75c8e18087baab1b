"""The conversation core: pure decisions over ports, no platform, SQL or SDK code."""
