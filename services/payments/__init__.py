"""Payments: saved payment methods, charges, refunds, payment plans and weekly autopay."""
