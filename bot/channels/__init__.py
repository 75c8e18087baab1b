"""Running connections to the platforms: what sends and receives, around the adapters."""
