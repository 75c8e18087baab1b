"""Tests of the production deployment files."""
