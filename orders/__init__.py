"""Partner orders of services (XML storage and add-ons) for their clients: catalogue, orders, credit."""
