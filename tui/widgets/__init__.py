"""Widgets of the sdaws TUI, one feature per module."""
