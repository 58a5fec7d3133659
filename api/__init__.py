"""The partner API (bearer partner token) and the integration API (client software's key)."""
