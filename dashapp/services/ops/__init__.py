"""Operations: service heartbeats and health, durable task history, SLOs (issue 12)."""
