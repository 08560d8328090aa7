"""The certificate formats: W3C VC (DIVOC), EU DCC and SMART Health Cards."""
