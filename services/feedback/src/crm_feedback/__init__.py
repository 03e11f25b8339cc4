"""Feedback service: complaints with SLA clocks and escalation, feedback, satisfaction surveys."""
