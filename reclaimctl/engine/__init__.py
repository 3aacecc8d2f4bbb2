"""The reclaim model (being built): kernel profiles as data so far.  Imports nothing but events/."""
