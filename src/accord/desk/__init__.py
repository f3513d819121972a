"""The service desk. For now: time booked against customers, contracts and assets."""
