"""Printing: the documents as data (``forms/``), one PDF and one receipt renderer, QR signatures,
printers from the settings and the print queue. Headless: no Textual; reportlab, qrcode and
Pillow are imported inside the functions that use them."""
