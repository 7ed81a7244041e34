"""Test helpers shared across test packages (stub servers of outside parties)."""
