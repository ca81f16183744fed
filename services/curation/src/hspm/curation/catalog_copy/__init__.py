"""The read copy of the catalog's products and builds, fed only by catalog events."""
