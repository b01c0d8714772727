"""Signing in and out, sign-up requests, password reset."""
