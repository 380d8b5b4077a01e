"""Decoding link, network and tunnel layers down to TCP segments."""
