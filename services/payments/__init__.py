"""Payments: gateways, payment methods, payments, refunds, plans and autopay (to come)."""
