"""Client A1 certificates (PKCS#12 / .pfx) and integration keys."""
