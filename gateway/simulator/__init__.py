"""Stand-ins for what lies outside the machine (Twilio), speaking its real protocol."""
