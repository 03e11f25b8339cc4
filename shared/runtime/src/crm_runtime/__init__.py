"""Cross-cutting runtime shared by every CRM service (never copied into a service)."""
