"""Repositories: async functions taking the session first; the only place that queries."""
