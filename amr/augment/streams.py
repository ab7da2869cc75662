"""The named random streams of augmentation: one per kind of choice (amr.draws), so that
adding a choice never shifts another's numbers."""

FADE, HOST, HOST_FALLBACK, NEGATIVE_COUNT, NEGATIVE_SLOT, NEGATIVE_WINDOW = range(6)
LENGTH, SUBSET, ORDER, PLACE = range(6, 10)
