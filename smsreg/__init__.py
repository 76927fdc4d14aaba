"""smsreg: SMS registration gateway for the Da Nang e-Government portal (short code 8188)."""

__version__ = "0.1.0"
