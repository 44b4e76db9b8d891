"""The payments application: commands on payments, methods, plans and mandates."""
