"""Voice: the keypad IVR, voicemail recordings and their offline transcription."""
