"""sendlib: necessary versus actual high needs funding, programme membership and SEND indicators
for England's local authorities, built from official statistics."""

__version__ = "0.1.0"
