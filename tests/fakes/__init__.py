"""Local fakes of the platforms' APIs, served on loopback for adapter and delivery tests."""
