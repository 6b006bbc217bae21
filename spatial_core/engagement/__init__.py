# SPDX-License-Identifier: GPL-3.0-or-later
"""The conversation with residents: contacts and consent, messages and "You said, we did",
the frequency cap, delivery, replies and surveys without login, engagement and its effect."""
