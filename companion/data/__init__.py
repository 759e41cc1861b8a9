"""Data sets of the book: each has an offline default and a loader for the course's real
file."""
