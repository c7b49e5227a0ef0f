"""Scheduled Lambda jobs."""
