"""Screens of the sdaws TUI; each modal is a ModalScreen[Result] in its own module."""
