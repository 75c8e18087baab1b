"""The intent engine and the knowledge it matches against; imports nothing of ours."""
