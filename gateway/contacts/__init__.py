"""Contacts: the people who write or call, known only by a keyed hash and a pseudonym."""
