# SPDX-License-Identifier: GPL-3.0-or-later
"""Importers of real-format files into the store (read, validate, locate, write)."""
