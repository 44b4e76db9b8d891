"""The payments domain: rules and events, no I/O."""
