"""Loyalty service: points ledger, tiers, customer health score and risk detection."""
