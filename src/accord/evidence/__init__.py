"""Evidence: terms and their versions, offers and the journeys customers went through."""
