"""CRM insights: journeys and KPIs read from every published event."""
