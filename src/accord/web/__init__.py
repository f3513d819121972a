"""The web interface: app factory, layout, authentication and shared page parts."""
