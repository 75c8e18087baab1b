"""The ASGI app that `lingang-bot serve` runs: webhooks, health checks and, later, the pages."""
