"""Scan monitor: the lock, the running scan, its errors and log; cancel and release (admins)."""

from scanner.ui import monitor

monitor.render()
