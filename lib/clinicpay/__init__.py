"""The suite as a whole: the `clinicpay` command, shared settings, the embedded default."""
