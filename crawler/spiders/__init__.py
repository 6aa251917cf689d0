"""Spiders: ``news`` crawls any configured source."""
