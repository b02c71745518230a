"""The rules of the product. Nothing here imports discord; time comes from an injected clock."""
