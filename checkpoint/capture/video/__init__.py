"""Video feeds -> one CapturedPass per vehicle: reader, motion gate, tracker, vote, supervisor."""
