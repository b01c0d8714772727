"""Endpoints for whoever runs the service: health checks."""
