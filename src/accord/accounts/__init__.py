"""People who use Accord: staff users with roles, their passwords and API tokens."""
