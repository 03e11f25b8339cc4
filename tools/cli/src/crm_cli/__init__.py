"""The operator CLI ``crm``."""
