# SPDX-License-Identifier: GPL-3.0-or-later
"""Analytics over the store: population, harm, priorities, representation, confidence, hot spots,
change, disclosure control."""
