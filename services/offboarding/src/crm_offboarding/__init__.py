"""Offboarding service: the termination process from risk to exit or retention."""
