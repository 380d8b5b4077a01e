"""HTTP/1.x: a sans-IO parser and body handling."""
