"""The browser UI served by insights (``crm_insights.ui.routes``)."""
