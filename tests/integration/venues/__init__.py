"""The live venue gateways against their fake venues."""
