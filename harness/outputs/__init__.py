"""Outputs: a run turned into text, JSON, JUnit XML and trace files."""
