"""The ads-architecture task: its simulator, benchmark problems, tuning loop and CLI preset."""
