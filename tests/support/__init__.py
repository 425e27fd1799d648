"""Reusable test support: databases, and helpers for integration, e2e and bench code."""
