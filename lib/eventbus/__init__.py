"""Getting events onto Kafka and off it again: topics, the outbox relay, the consumer loop."""
