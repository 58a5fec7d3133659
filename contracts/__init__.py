"""Contracts: signup links, acceptance, the contract status machine, plan and payer changes."""
