"""Contacts service: the company-wide customer directory and contact timeline."""
