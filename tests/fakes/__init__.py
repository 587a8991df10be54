"""Fake venues on 127.0.0.1, written from each venue's public API documentation."""
