"""Modal dialogs (confirmations, resume a draft)."""
