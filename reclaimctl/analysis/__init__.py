"""Analysis: pure functions from EventTables to result tables (pandas).  Nothing here prints."""
